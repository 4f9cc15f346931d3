"""The form renderer's side of conditional fields, picked lists and file lists (engine/web/forms/)."""
from __future__ import annotations

import asyncio
import json

from starlette.datastructures import FormData, UploadFile

from engine.web import forms

SCHEMA = {
    "type": "object", "required": ["outcome"],
    "properties": {
        "outcome": {"type": "string", "title": "本次结果",
                    "oneOf": [{"const": "settled", "title": "达成调解协议"}, {"const": "failed", "title": "调解不成"}]},
        "failure_reason": {"type": "string", "title": "调解不成的原因"},
        "terms": {"type": "array", "title": "协议内容", "minItems": 1, "items": {"type": "string"}},
        "mediator": {"type": "string", "title": "调解员", "x-choices": "mediators"},
        "owner": {"type": "string", "title": "业主", "x-choices": "owners"},
        "documents": {"type": "array", "title": "材料附件", "items": {
            "type": "object", "properties": {"attachment_id": {"type": "integer"}, "sha256": {"type": "string"},
                                             "filename": {"type": "string"}}}},
    },
    "allOf": [{"if": {"properties": {"outcome": {"const": "failed"}}, "required": ["outcome"]},
               "then": {"required": ["failure_reason"]}},
              {"if": {"properties": {"outcome": {"const": "settled"}}, "required": ["outcome"]},
               "then": {"required": ["terms"]}}],
}
CHOICES = {"mediators": [("李社区", "李社区（新城社区）")], "owners": [(f"O{i}", f"O{i} 业主{i}") for i in range(40)]}


def fields_by_name(values):
    return {f.name: f for f in forms.build_fields(SCHEMA, {}, values, {}, choices=CHOICES)}


def test_conditional_fields_carry_their_rule_for_the_script_and_in_words():
    f = fields_by_name({"outcome": "failed"})
    assert f["failure_reason"].applies and not f["terms"].applies
    assert f["failure_reason"].required and f["terms"].required  # required whenever shown
    assert json.loads(f["terms"].when) == [{"all": [{"field": "outcome", "in": ["settled"]}], "not": False}]
    assert f["terms"].condition_zh == "仅当「本次结果」为「达成调解协议」时填写"
    assert f["outcome"].when == "" and f["outcome"].options == [("settled", "达成调解协议"), ("failed", "调解不成")]


def test_picked_lists_short_as_select_long_as_search():
    f = fields_by_name({})
    assert f["mediator"].widget == "select" and f["mediator"].options == [("李社区", "李社区（新城社区）")]
    assert f["owner"].widget == "search" and len(f["owner"].options) == 40
    kept = fields_by_name({"mediator": "钱调解"})["mediator"]  # an entered value outside the list stays visible
    assert ("钱调解", "钱调解") in kept.options


def test_a_file_list_takes_several_uploads_and_keeps_the_ticked_earlier_ones():
    f = fields_by_name({"documents": [{"attachment_id": 1, "sha256": "a" * 64, "filename": "旧.pdf"}]})
    assert f["documents"].widget == "files" and f["documents"].value[0]["filename"] == "旧.pdf"
    import io

    form = FormData([("documents", UploadFile(io.BytesIO(b"one"), filename="一.txt")),
                     ("documents", UploadFile(io.BytesIO(b"two"), filename="二.txt")),
                     ("documents._existing", json.dumps({"attachment_id": 1, "sha256": "a" * 64, "filename": "旧.pdf"})),
                     ("outcome", "failed"), ("terms", "")])
    stored = []

    def store(upload, content):
        stored.append((upload.filename, content))
        return {"pending": upload.filename}

    data = asyncio.run(forms.coerce(SCHEMA, {}, form, store))
    assert data["documents"] == [{"attachment_id": 1, "sha256": "a" * 64, "filename": "旧.pdf"},
                                 {"pending": "一.txt"}, {"pending": "二.txt"}]
    assert stored == [("一.txt", b"one"), ("二.txt", b"two")]
    assert "terms" not in data  # an empty list box is "not given", not an empty list


def test_an_object_shows_only_the_fields_its_list_names_as_ticks():
    schema = {"type": "object", "properties": {"facts": {
        "type": "object", "title": "核查情况", "x-fields-from": "grounds",
        "properties": {"criminal": {"type": "boolean", "title": "刑事处罚", "x-widget": "checkbox"},
                       "fee_arrears": {"type": "boolean", "title": "拖欠物业费", "x-widget": "checkbox"}}}}}
    [facts] = forms.build_fields(schema, {}, {"facts": {"criminal": True}}, {}, choices={"grounds": [("criminal", "刑事处罚")]})
    assert [(c.name, c.widget, c.value) for c in facts.children] == [("facts.criminal", "tick", True)]
    data = asyncio.run(forms.coerce(schema, {}, FormData([("facts.criminal", "true")])))
    assert data == {"facts": {"criminal": True}}


def test_one_of_branch_fields_render_and_read_back():
    schema = {"type": "object", "required": ["kind"],
              "properties": {"kind": {"type": "string", "title": "类别",
                                      "oneOf": [{"const": "person", "title": "个人"}, {"const": "company", "title": "单位"}]}},
              "oneOf": [{"properties": {"kind": {"const": "person"}, "id_number": {"type": "string", "title": "证件号码"}},
                         "required": ["id_number"]},
                        {"properties": {"kind": {"const": "company"}, "licence": {"type": "string", "title": "执照号"}},
                         "required": ["licence"]}]}
    fields = {f.name: f for f in forms.build_fields(schema, {}, {"kind": "company"}, {})}
    assert fields["licence"].applies and not fields["id_number"].applies and fields["id_number"].required
    assert fields["id_number"].condition_zh == "仅当「类别」为「个人」时填写"
    data = asyncio.run(forms.coerce(schema, {}, FormData([("kind", "company"), ("licence", "L-1")])))
    assert data == {"kind": "company", "licence": "L-1"}


def test_roll_totals_panel_reads_either_process_roll():
    from engine.processes.committee.panels import roll_totals_panel

    committee = {"owner_roll": {"units": 10, "owners": 9, "total_area": "1000.25", "source": "roll.csv",
                                "ref": {"attachment_id": 3, "sha256": "b" * 64, "filename": "业主名册.csv"}}}
    [sec] = roll_totals_panel(None, None, committee)
    assert ("业主总人数", "9 人") in sec["facts"] and ("专有部分总面积", "1000.25 平方米") in sec["facts"]
    assert sec["files"][0]["filename"] == "业主名册.csv"
    [sec] = roll_totals_panel(None, None, {"vote_plan": {"roll": {"units": 4, "owners": 3, "total_area": "300"}}})
    assert ("房屋套数", "4 套") in sec["facts"]
    # A prior-review vote as it really is: the form's `owner_roll` is the uploaded file itself.
    upload = {"attachment_id": 5, "sha256": "c" * 64, "filename": "表决名册.csv"}
    [sec] = roll_totals_panel(None, None, {"owner_roll": upload,
                                           "vote_plan": {"roll": {"units": 4, "owners": 3, "total_area": "300"}}})
    assert ("业主总人数", "3 人") in sec["facts"] and sec["files"] == [upload]
    assert roll_totals_panel(None, None, {})[0]["notes"] == ["尚无已确认的业主名册。"]
