"""Form data against a task's JSON Schema. Every problem names its field, in Chinese and English."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema

_TYPE_ZH = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否",
            "array": "列表", "object": "对象", "null": "空值"}


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(schema_json), format_checker=jsonschema.FormatChecker())


def _title(schema: dict, path: list) -> str:
    node, title = schema, None
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {}) if isinstance(node, dict) else {}
            continue
        node = (node.get("properties") or {}).get(part, {}) if isinstance(node, dict) else {}
        title = node.get("title", part) if isinstance(node, dict) else part
    return title or "表单"


def _type_zh(val) -> str:
    names = [val] if isinstance(val, str) else list(val)
    return "/".join(_TYPE_ZH.get(t, t) for t in names)


_MESSAGES_ZH = {
    "required": lambda t, v: f"「{t}」为必填项",
    "type": lambda t, v: f"「{t}」应为{_type_zh(v)}",
    "enum": lambda t, v: f"「{t}」必须是以下之一：{'、'.join(map(str, v))}",
    "minimum": lambda t, v: f"「{t}」不能小于 {v}",
    "maximum": lambda t, v: f"「{t}」不能大于 {v}",
    "exclusiveMinimum": lambda t, v: f"「{t}」必须大于 {v}",
    "exclusiveMaximum": lambda t, v: f"「{t}」必须小于 {v}",
    "minLength": lambda t, v: f"「{t}」至少 {v} 个字符" if v > 1 else f"「{t}」不能为空",
    "maxLength": lambda t, v: f"「{t}」最多 {v} 个字符",
    "minItems": lambda t, v: f"「{t}」至少 {v} 项",
    "maxItems": lambda t, v: f"「{t}」最多 {v} 项",
    "pattern": lambda t, v: f"「{t}」格式不正确",
    "format": lambda t, v: f"「{t}」格式不正确（应为 {v}）",
    "multipleOf": lambda t, v: f"「{t}」必须是 {v} 的倍数",
    "additionalProperties": lambda t, v: f"「{t}」含有表单未定义的字段",
    "const": lambda t, v: f"「{t}」的值不被接受",
    "uniqueItems": lambda t, v: f"「{t}」中有重复项",
}


def _zh(error: jsonschema.ValidationError, title: str) -> str:
    render = _MESSAGES_ZH.get(str(error.validator))
    return render(title, error.validator_value) if render else f"「{title}」不符合要求"


def validate_form(schema: dict, data: Any) -> list[dict[str, str]]:
    """Return one {field, message, message_zh} per problem; [] when the data is valid."""
    if not isinstance(data, dict):
        return [{"field": "", "message": "form data must be a JSON object", "message_zh": "表单数据必须是 JSON 对象"}]
    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = path + [missing]
        field = ".".join(str(p) for p in path)
        problems.append({"field": field, "message": f"{field or 'form'}: {error.message}",
                         "message_zh": _zh(error, _title(schema, path))})
    return problems


# --- fields that apply on the path the data takes ----------------------------------------
#
# A form may make fields depend on earlier answers with JSON Schema's own conditionals
# (if/then/else, dependentRequired, dependentSchemas, oneOf branches, also inside allOf).
# A property that such a branch names and the object's own `required` does not is
# *conditional*: it applies only while a branch naming it is taken. Fields that do not apply are
# hidden in the page and dropped from the data before validation, so whatever was typed in them
# before the path changed neither blocks the step nor is stored.


def _branch_fields(branch: Any) -> set[str]:
    """Property names a branch schema requires or constrains (nested allOf included)."""
    if not isinstance(branch, dict):
        return set()
    names = set(branch.get("required") or []) | set((branch.get("properties") or {}).keys())
    for deps in (branch.get("dependentRequired") or {}).values():
        names |= set(deps)
    for sub in branch.get("allOf") or []:
        names |= _branch_fields(sub)
    return names


def _selector(alt: dict) -> dict | None:
    """The part of a oneOf branch that picks it: its properties fixed by const/enum."""
    fixed = {k: v for k, v in (alt.get("properties") or {}).items()
             if isinstance(v, dict) and ("const" in v or "enum" in v)}
    return {"properties": fixed, "required": sorted(fixed)} if fixed else None


def branch_rules(schema: dict) -> list[tuple[dict, set[str], set[str]]]:
    """(test, fields while the test holds, fields while it does not) of an object schema's
    conditionals. A test is a JSON Schema checked against the object's data."""
    rules: list[tuple[dict, set[str], set[str]]] = []
    parts = [schema] + [p for p in schema.get("allOf") or [] if isinstance(p, dict)]
    for part in parts:
        if isinstance(part.get("if"), dict):
            rules.append((part["if"], _branch_fields(part.get("then")), _branch_fields(part.get("else"))))
        for name, deps in (part.get("dependentRequired") or {}).items():
            rules.append(({"required": [name]}, set(deps), set()))
        for name, sub in (part.get("dependentSchemas") or {}).items():
            rules.append(({"required": [name]}, _branch_fields(sub), set()))
        for alt in part.get("oneOf") or []:
            if isinstance(alt, dict) and "const" not in alt:
                test = _selector(alt)
                if test is not None:
                    rules.append((test, _branch_fields(alt) - set(test["properties"]), set()))
    return rules


def all_properties(schema: dict) -> dict[str, dict]:
    """The object's own properties, then those only a branch declares (a `oneOf` alternative's
    own fields, say), so that such fields are rendered and read like any other."""
    props = {k: v for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict)}
    parts = [schema] + [p for p in schema.get("allOf") or [] if isinstance(p, dict)]
    branches = []
    for part in parts:
        branches += [part.get("then"), part.get("else")]
        branches += list((part.get("dependentSchemas") or {}).values())
        branches += [alt for alt in part.get("oneOf") or [] if isinstance(alt, dict) and "const" not in alt]
    for branch in branches:
        if isinstance(branch, dict):
            for key, sub in (branch.get("properties") or {}).items():
                # A branch's bare constraint ({"minLength": 2}) of a declared field adds no field.
                if key not in props and isinstance(sub, dict) and ("type" in sub or "title" in sub):
                    props[key] = sub
    return props


def conditional_fields(schema: dict) -> set[str]:
    base_required = set(schema.get("required") or [])
    names: set[str] = set()
    for _test, then_fields, else_fields in branch_rules(schema):
        names |= then_fields | else_fields
    return (names - base_required) & set(all_properties(schema))


def _holds(test: dict, data: dict) -> bool:
    return _validator(json.dumps(test, sort_keys=True)).is_valid(data)


def applicable(schema: dict, data: dict) -> set[str]:
    """The properties of an object schema that apply to `data` (every unconditional one, and the
    conditional ones a taken branch names)."""
    props = set(all_properties(schema))
    conditional = conditional_fields(schema)
    taken: set[str] = set()
    for test, then_fields, else_fields in branch_rules(schema):
        taken |= then_fields if _holds(test, data) else else_fields
    return (props - conditional) | (conditional & taken)


def required_when_taken(schema: dict) -> set[str]:
    """Conditional properties some branch requires (marked required wherever they are shown)."""
    names: set[str] = set()
    parts = [schema] + [p for p in schema.get("allOf") or [] if isinstance(p, dict)]
    for part in parts:
        for key in ("then", "else"):
            if isinstance(part.get(key), dict):
                names |= set(part[key].get("required") or [])
        for deps in (part.get("dependentRequired") or {}).values():
            names |= set(deps)
        for sub in (part.get("dependentSchemas") or {}).values():
            if isinstance(sub, dict):
                names |= set(sub.get("required") or [])
        for alt in part.get("oneOf") or []:
            if isinstance(alt, dict):
                names |= set(alt.get("required") or [])
    return names


def prune_inapplicable(schema: dict, data: Any) -> Any:
    """`data` without the values of fields that do not apply on its path (recursively)."""
    if not isinstance(schema, dict):
        return data
    if isinstance(data, dict) and (schema.get("properties") or schema.get("allOf") or schema.get("oneOf")):
        keep = applicable(schema, data)
        props = all_properties(schema)
        out = {}
        for key, value in data.items():
            if key in props and key not in keep:
                continue
            out[key] = prune_inapplicable(props.get(key, {}), value)
        return out
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        return [prune_inapplicable(schema["items"], v) for v in data]
    return data
