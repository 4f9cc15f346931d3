"""Form data against a task's JSON Schema. Every problem names its field, in Chinese and English."""
from __future__ import annotations

from functools import lru_cache
import json
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
    render = _MESSAGES_ZH.get(error.validator)
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
