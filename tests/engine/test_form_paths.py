"""Which fields apply on the path the data takes (engine/runtime/forms.py): if/then/else,
dependentRequired, dependentSchemas and oneOf branches, also inside allOf and nested objects."""
from __future__ import annotations

from engine.runtime.forms import applicable, conditional_fields, prune_inapplicable, validate_form

MEDIATE = {
    "type": "object", "required": ["outcome"],
    "properties": {"outcome": {"enum": ["continue", "extend", "settled", "failed"]},
                   "extension_days": {"type": "integer", "minimum": 1},
                   "failure_reason": {"type": "string"},
                   "terms": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                   "note": {"type": "string"}},
    "allOf": [
        {"if": {"properties": {"outcome": {"const": "extend"}}, "required": ["outcome"]},
         "then": {"required": ["extension_days"]}},
        {"if": {"properties": {"outcome": {"const": "failed"}}, "required": ["outcome"]},
         "then": {"required": ["failure_reason"]}},
        {"if": {"properties": {"outcome": {"const": "settled"}}, "required": ["outcome"]},
         "then": {"required": ["terms"]}},
    ],
}


def test_conditional_fields_are_those_a_branch_names():
    assert conditional_fields(MEDIATE) == {"extension_days", "failure_reason", "terms"}


def test_each_outcome_takes_only_its_own_fields():
    assert applicable(MEDIATE, {"outcome": "continue"}) == {"outcome", "note"}
    assert applicable(MEDIATE, {"outcome": "failed"}) == {"outcome", "note", "failure_reason"}
    assert applicable(MEDIATE, {"outcome": "settled"}) == {"outcome", "note", "terms"}
    assert applicable(MEDIATE, {}) == {"outcome", "note"}  # nothing chosen yet: no branch taken


def test_values_on_a_path_not_taken_are_dropped_and_not_checked():
    data = {"outcome": "failed", "failure_reason": "分歧较大", "terms": [], "extension_days": 0}
    pruned = prune_inapplicable(MEDIATE, data)
    assert pruned == {"outcome": "failed", "failure_reason": "分歧较大"}
    assert validate_form(MEDIATE, pruned) == []
    assert [p["field"] for p in validate_form(MEDIATE, prune_inapplicable(MEDIATE, {"outcome": "failed"}))] \
        == ["failure_reason"]
    # On the settled path the agreement's own rules still hold.
    problems = validate_form(MEDIATE, prune_inapplicable(MEDIATE, {"outcome": "settled", "terms": []}))
    assert [p["message_zh"] for p in problems] == ["「terms」至少 1 项"]


def test_else_branch_and_boolean_test():
    schema = {"type": "object", "properties": {"accepted": {"type": "boolean"}, "reason": {"type": "string"},
                                               "level": {"type": "string"}},
              "if": {"properties": {"accepted": {"const": False}}, "required": ["accepted"]},
              "then": {"required": ["reason"]}, "else": {"properties": {"level": {}}}}
    assert applicable(schema, {"accepted": False}) == {"accepted", "reason"}
    assert applicable(schema, {"accepted": True}) == {"accepted", "level"}
    assert prune_inapplicable(schema, {"accepted": True, "reason": "x", "level": "street"}) == \
        {"accepted": True, "level": "street"}


def test_dependent_required_and_dependent_schemas():
    schema = {"type": "object", "properties": {"phone": {"type": "string"}, "contact": {"type": "string"},
                                               "company": {"type": "string"}, "licence": {"type": "string"}},
              "dependentRequired": {"phone": ["contact"]},
              "dependentSchemas": {"company": {"required": ["licence"]}}}
    assert applicable(schema, {}) == {"phone", "company"}
    assert applicable(schema, {"phone": "1"}) == {"phone", "company", "contact"}
    assert applicable(schema, {"company": "某公司"}) == {"phone", "company", "licence"}
    assert [p["field"] for p in validate_form(schema, {"company": "某公司"})] == ["licence"]


def test_one_of_branches_picked_by_their_constant():
    schema = {"type": "object", "required": ["kind"],
              "properties": {"kind": {"enum": ["person", "company"]}, "id_number": {"type": "string"},
                             "licence": {"type": "string"}},
              "oneOf": [{"properties": {"kind": {"const": "person"}}, "required": ["id_number"]},
                        {"properties": {"kind": {"const": "company"}}, "required": ["licence"]}]}
    assert applicable(schema, {"kind": "person"}) == {"kind", "id_number"}
    assert applicable(schema, {"kind": "company"}) == {"kind", "licence"}
    assert prune_inapplicable(schema, {"kind": "company", "licence": "L1", "id_number": "3201"}) == \
        {"kind": "company", "licence": "L1"}
    assert validate_form(schema, {"kind": "company", "licence": "L1"}) == []


def test_nested_objects_and_array_rows_follow_their_own_path():
    row = {"type": "object", "properties": {"approve": {"type": "boolean"}, "reason": {"type": "string"}},
           "if": {"properties": {"approve": {"const": False}}, "required": ["approve"]}, "then": {"required": ["reason"]}}
    schema = {"type": "object", "properties": {"decisions": {"type": "array", "items": row}}}
    data = {"decisions": [{"approve": True, "reason": "（勾选同意前写的）"}, {"approve": False, "reason": "不宜"}]}
    assert prune_inapplicable(schema, data) == {"decisions": [{"approve": True}, {"approve": False, "reason": "不宜"}]}
    assert [p["field"] for p in validate_form(schema, {"decisions": [{"approve": False}]})] == ["decisions.0.reason"]


def test_every_bundled_form_lets_each_outcome_through_without_the_others_fields():
    """The mediation session form: continue, extend, settled and failed each validate with only
    their own fields (the bug: every outcome demanded the agreement's terms)."""
    import json

    from engine.config import BUNDLED_FORMS_DIR

    schema = json.loads((BUNDLED_FORMS_DIR / "mediation" / "mediate.schema.json").read_text(encoding="utf-8"))
    base = {"session_date": "2026-11-21", "session_attendees": ["张建国"], "session_summary": "听取陈述"}
    own = {"continue": {}, "failed": {"failure_reason": "分歧较大"},
           "extend": {"extension_days": 10, "extension_reason": "双方同意", "parties_agreed": True},
           "settled": {"agreement_facts": "事实清楚", "disputed_matters": "收费标准", "responsibilities": "双方各半",
                       "terms": ["按原标准收费"], "performance_manner": "转账", "performance_deadline": "2026-12-31"}}
    everything = {k: v for fields in own.values() for k, v in fields.items()}
    for outcome, fields in own.items():
        assert validate_form(schema, prune_inapplicable(schema, {**base, "outcome": outcome, **fields})) == [], outcome
        # Whatever else was typed before switching outcome is dropped, not refused.
        assert prune_inapplicable(schema, {**base, "outcome": outcome, **everything}) == \
            {**base, "outcome": outcome, **fields}, outcome


def test_fields_only_a_branch_declares_belong_to_that_branch():
    from engine.runtime.forms import all_properties

    schema = {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": ["person", "company"]}},
              "oneOf": [{"properties": {"kind": {"const": "person"}, "id_number": {"type": "string", "title": "证件号码"}},
                         "required": ["id_number"]},
                        {"properties": {"kind": {"const": "company"}, "licence": {"type": "string", "title": "执照号"}},
                         "required": ["licence"]}]}
    assert list(all_properties(schema)) == ["kind", "id_number", "licence"]
    assert applicable(schema, {"kind": "person"}) == {"kind", "id_number"}
    assert prune_inapplicable(schema, {"kind": "person", "id_number": "3201", "licence": "L"}) == \
        {"kind": "person", "id_number": "3201"}
