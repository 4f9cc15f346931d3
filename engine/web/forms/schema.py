"""Reading a JSON Schema + UI schema field: its type, its options and the widget it gets."""
from __future__ import annotations

from typing import Any

FILE_KEYS = {"attachment_id", "sha256"}


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _join(prefix: str, key: str | int) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _type(schema: dict) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        if "enum" in schema or "oneOf" in schema:
            return "string"
    return t or "string"


def _options(schema: dict, ui: dict) -> list[tuple[str, str]] | None:
    if "enum" in schema:
        names = ui.get("ui:enumNames") or schema.get("enumNames") or schema.get("x-enumNames") or []
        return [(_text(v), str(names[i]) if i < len(names) else _label(v)) for i, v in enumerate(schema["enum"])
                if v is not None]
    alts = schema.get("oneOf") or schema.get("anyOf")
    if alts and all(isinstance(a, dict) and "const" in a for a in alts):
        return [(_text(a["const"]), str(a.get("title", a["const"]))) for a in alts]
    return None


def _label(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def is_file_schema(schema: dict, ui: dict) -> bool:
    if ui.get("ui:widget") in ("file", "attachment"):
        return True
    if schema.get("format") in ("attachment", "file"):
        return True
    return _type(schema) == "object" and FILE_KEYS <= set((schema.get("properties") or {}).keys())


def choice_source(schema: dict) -> str | None:
    """The named list a field's value is picked from (`x-choices`), resolved per task."""
    source = schema.get("x-choices") if isinstance(schema, dict) else None
    return source if isinstance(source, str) else None


def _widget(schema: dict, ui: dict) -> str:
    requested = ui.get("ui:widget") or schema.get("x-widget")
    if requested == "hidden":
        return "hidden"
    if is_file_schema(schema, ui):
        return "file"
    t = _type(schema)
    if t == "object":
        return "group"
    if t == "array":
        items = schema.get("items") or {}
        if is_file_schema(items, ui.get("items") or {}):
            return "files"
        if _options(items, ui.get("items") or {}) is not None or choice_source(items):
            return "checkboxes"
        if _type(items) == "object":
            return "repeat"
        return "lines"
    if t == "boolean":
        return "tick" if requested == "checkbox" else "boolean"
    if choice_source(schema):
        return "radio" if requested == "radio" else "select"
    opts = _options(schema, ui)
    if opts is not None:
        return "radio" if requested == "radio" or (requested is None and len(opts) <= 4) else "select"
    if t in ("integer", "number"):
        return t
    fmt = schema.get("format")
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "datetime"
    if requested == "textarea" or (schema.get("maxLength") or 0) > 200:
        return "textarea"
    return "text"
