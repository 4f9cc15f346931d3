"""Reading a submitted HTML form back into data of the schema's types."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData, UploadFile

from engine.runtime import forms as form_rules

from .schema import _join, _type, _widget

StoreFile = Callable[[UploadFile, bytes], dict]


class _Absent:
    pass


ABSENT = _Absent()


def _scalar(schema: dict, raw: Any) -> Any:
    """One submitted string as the schema's type; unparseable text is kept as text, so that
    validation reports it in the field's own words instead of it silently disappearing."""
    if not isinstance(raw, str):
        return ABSENT
    t = _type(schema)
    text = raw if t == "string" and schema.get("format") not in ("date", "date-time") else raw.strip()
    if text.strip() == "":
        return ABSENT
    if t == "integer":
        try:
            return int(text)
        except ValueError:
            try:
                f = float(text)
                return int(f) if f.is_integer() else f
            except ValueError:
                return text
    if t == "number":
        try:
            f = float(text)
        except ValueError:
            return text
        if f != f or f in (float("inf"), float("-inf")):
            return text
        return int(f) if f.is_integer() and "." not in text and "e" not in text.lower() else f
    if t == "boolean":
        return {"true": True, "false": False, "是": True, "否": False}.get(text.lower(), text)
    if t == "null":
        return None
    if schema.get("format") == "date-time" and len(text) == 16:  # <input type=datetime-local>
        return text + ":00+08:00"
    return text


async def coerce(schema: dict, ui: dict | None, form: FormData, store_file: StoreFile | None = None,
                 prefix: str = "") -> dict:
    """The data a submitted form means, typed by `schema`. Empty inputs are left out, so
    "required" is reported for them; uploaded files go through `store_file`."""
    ui = ui or {}
    out: dict[str, Any] = {}
    for key, sub in form_rules.all_properties(schema).items():
        value = await _coerce_value(sub, ui.get(key) or {}, form, _join(prefix, key), store_file)
        if value is not ABSENT:
            out[key] = value
    return out


async def _coerce_value(schema: dict, ui: dict, form: FormData, name: str, store_file: StoreFile | None) -> Any:
    widget = _widget(schema, ui)
    if ui.get("ui:readonly") or ui.get("ui:disabled"):
        return ABSENT
    if widget == "file":
        upload = form.get(name)
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read()
            if content and store_file is not None:
                return store_file(upload, content)
        kept = _kept_files(form, name)
        return kept[0] if kept else ABSENT
    if widget == "files":
        # Files uploaded before (a re-shown form) stay unless unticked; new uploads are added.
        refs = _kept_files(form, name)
        for upload in form.getlist(name):
            if isinstance(upload, UploadFile) and upload.filename:
                content = await upload.read()
                if content and store_file is not None:
                    refs.append(store_file(upload, content))
        return refs if refs else ABSENT
    if widget == "group":
        value = await coerce(schema, ui, form, store_file, name)
        return value if value else ABSENT
    if widget == "checkboxes":
        items = schema.get("items") or {}
        picked = [_scalar(items, v) for v in form.getlist(name)]
        picked = [p for p in picked if p is not ABSENT]
        return picked if picked or f"{name}._present" in form else ABSENT
    if widget == "repeat":
        items, items_ui = schema.get("items") or {}, ui.get("items") or {}
        indices = sorted({int(part) for k in form.keys() if k.startswith(name + ".")
                          for part in [k[len(name) + 1:].split(".", 1)[0]] if part.isdigit()})
        rows = []
        for i in indices:
            row_name = _join(name, i)
            if form.get(f"{row_name}._delete"):
                continue
            row = await coerce(items, items_ui, form, store_file, row_name)
            if row:
                rows.append(row)
        return rows if rows or indices or f"{name}._present" in form else ABSENT
    if widget == "lines":
        raw = form.get(name)
        if not isinstance(raw, str):
            return ABSENT
        items = schema.get("items") or {}
        values = [v for v in (_scalar(items, line) for line in raw.splitlines()) if v is not ABSENT]
        return values if values else ABSENT  # an empty box is "not given", like any other empty input
    return _scalar(schema, form.get(name))


def _kept_files(form: FormData, name: str) -> list[dict]:
    refs = []
    for existing in form.getlist(f"{name}._existing"):
        if isinstance(existing, str) and existing:
            try:
                ref = json.loads(existing)
            except ValueError:
                continue
            if isinstance(ref, dict):
                refs.append(ref)
    return refs


def add_row_request(form: FormData) -> str | None:
    """Name of the repeating group whose "add a row" button was pressed (works without script)."""
    action = form.get("_action")
    if isinstance(action, str) and action.startswith("add:"):
        return action[4:]
    return None
