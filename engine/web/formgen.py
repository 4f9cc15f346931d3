"""Task forms from JSON Schema + UI schema, server-side.

`build_fields` turns a schema, the values to show and the validation problems into a tree of
`Field`s that one Jinja macro renders; `coerce` reads a submitted HTML form back into data of the
schema's types. Field names are dotted paths ("candidates.0.name"), the same paths the service
layer's validation problems name, so every error lands next to its field.

Widgets: text, textarea (ui:widget textarea), integer/number, date (format date), datetime,
select / radio (enum or oneOf const/title), checkboxes (array of enum), yes/no (boolean),
lines (array of plain strings), repeating groups (array of objects), nested groups (object),
file (object with attachment_id + sha256, or ui:widget file), files (a list of those), hidden.
A field with `x-choices` is picked from a list resolved for the task (matters, mediators, …).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.datastructures import FormData, UploadFile

from engine.runtime import forms as form_rules

FILE_KEYS = {"attachment_id", "sha256"}
SEARCH_OVER = 30  # a picked list longer than this is searched (text input + suggestions), not scrolled
ROW_PLACEHOLDER = "__i__"


@dataclass
class Field:
    name: str
    title: str
    widget: str
    required: bool = False
    description: str = ""
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list["Field"] = field(default_factory=list)  # object: its fields
    rows: list[list["Field"]] = field(default_factory=list)  # repeating group: one list per row
    template: list["Field"] = field(default_factory=list)  # repeating group: an empty row
    error: str | None = None
    placeholder: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    # A conditional field: whether it applies to the values shown, when it applies (JSON the
    # page's script evaluates; "" = the script cannot tell, keep it shown) and that rule in words.
    applies: bool = True
    when: str = ""
    condition_zh: str = ""

    @property
    def value_text(self) -> str:
        if self.value is None:
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)

    @property
    def option_label(self) -> str:
        """The label of the chosen option (a fixed or read-only choice)."""
        return next((label for value, label in self.options if value == self.value_text), self.value_text)

    @property
    def file_json(self) -> str:
        return json.dumps(self.value, ensure_ascii=False) if isinstance(self.value, dict) else ""

    def selected(self, option: str) -> bool:
        if isinstance(self.value, list):
            return option in [_text(v) for v in self.value]
        return self.value is not None and _text(self.value) == option


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


def _ordered(props: dict, ui: dict) -> list[str]:
    order = ui.get("ui:order")
    if not order:
        return list(props)
    names = [n for n in order if n in props and n != "*"]
    rest = [n for n in props if n not in names]
    if "*" in order:
        i = order.index("*")
        head = [n for n in order[:i] if n in props]
        tail = [n for n in order[i + 1:] if n in props]
        return head + [n for n in props if n not in head and n not in tail] + tail
    return names + rest


def build_fields(schema: dict, ui: dict | None, values: dict | None, errors: dict[str, str] | None = None,
                 prefix: str = "", extra_rows: dict[str, int] | None = None,
                 choices: dict[str, list[tuple[str, str]]] | None = None) -> list[Field]:
    """The fields of an object schema, filled with `values` and `errors` (by dotted path)."""
    ui = ui or {}
    values = values if isinstance(values, dict) else {}
    errors = errors or {}
    required = set(schema.get("required") or [])
    props = form_rules.all_properties(schema)
    conditional = form_rules.conditional_fields(schema)
    applying = form_rules.applicable(schema, values) if conditional else set(props)
    required_in_branch = form_rules.required_when_taken(schema) if conditional else set()
    fields = []
    for key in _ordered(props, ui):
        sub = props[key] if isinstance(props[key], dict) else {}
        sub_ui = ui.get(key) or {}
        is_required = key in required or (key in conditional and key in required_in_branch)
        f = _field(key, sub, sub_ui, values.get(key, sub.get("default")), is_required,
                   errors, _join(prefix, key), extra_rows or {}, choices)
        if key in conditional:
            f.applies = key in applying
            f.when, f.condition_zh = _client_condition(schema, ui, key, prefix)
        fields.append(f)
    return fields


def _client_condition(schema: dict, ui: dict, key: str, prefix: str) -> tuple[str, str]:
    """When conditional field `key` applies, as [{"all": [clause…], "not": bool}, …] (any one
    alternative suffices) for the page's script, and in Chinese for the page without script."""
    props = form_rules.all_properties(schema)
    alternatives, words = [], []
    for test, then_fields, else_fields in form_rules.branch_rules(schema):
        for fields, negate in ((then_fields, False), (else_fields, True)):
            if key not in fields:
                continue
            clauses, said = _clauses(test, props, ui, prefix)
            if clauses is None:
                return "", ""
            alternatives.append({"all": clauses, "not": negate})
            words.append(("不是" if negate else "") + "且".join(said))
    if not alternatives:
        return "", ""
    return json.dumps(alternatives, ensure_ascii=False), "仅当" + "，或".join(words) + "时填写"


def _clauses(test: dict, props: dict, ui: dict, prefix: str) -> tuple[list[dict] | None, list[str]]:
    if set(test) - {"properties", "required"}:
        return None, []
    clauses, said = [], []
    fixed = test.get("properties") or {}
    for name, cond in fixed.items():
        if not isinstance(cond, dict) or not ({"const", "enum"} & set(cond)):
            return None, []
        wanted = [cond["const"]] if "const" in cond else list(cond["enum"])
        sub = props.get(name) if isinstance(props.get(name), dict) else {}
        sub_ui = ui.get(name) or {}
        labels = dict(_options(sub, sub_ui) or [])
        if _type(sub) == "boolean":
            labels = {"true": "是", "false": "否"}
        clauses.append({"field": _join(prefix, name), "in": [_text(v) for v in wanted]})
        title = sub_ui.get("ui:title") or sub.get("title") or name
        said.append(f"「{title}」为" + "或".join(f"「{labels.get(_text(v), _text(v))}」" for v in wanted))
    for name in test.get("required") or []:
        if name not in fixed:
            sub = props.get(name) if isinstance(props.get(name), dict) else {}
            clauses.append({"field": _join(prefix, name), "present": True})
            said.append(f"填写了「{(ui.get(name) or {}).get('ui:title') or sub.get('title') or name}」")
    return clauses, said


def _picked(schema: dict, ui: dict, choices: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    source = choice_source(schema)
    if source is not None:
        return list(choices.get(source) or [])
    return _options(schema, ui) or []


def _field(key: str, schema: dict, ui: dict, value: Any, required: bool, errors: dict[str, str],
           name: str, extra_rows: dict[str, int], choices: dict[str, list[tuple[str, str]]] | None = None) -> Field:
    choices = choices or {}
    widget = _widget(schema, ui)
    f = Field(name=name, title=str(ui.get("ui:title") or schema.get("title") or key), widget=widget,
              required=required, description=str(ui.get("ui:help") or schema.get("description") or ""),
              value=value, error=errors.get(name), placeholder=str(ui.get("ui:placeholder") or ""))
    if widget in ("radio", "select"):
        f.options = _picked(schema, ui, choices)
        if value is not None and _text(value) not in {v for v, _ in f.options}:
            f.options.append((_text(value), _text(value)))  # keep what was entered visible
        if widget == "select" and len(f.options) > SEARCH_OVER:
            f.widget = "search"  # a long list (an owner roll): type to find, the browser suggests
    elif widget == "checkboxes":
        f.options = _picked(schema.get("items") or {}, ui.get("items") or {}, choices)
    elif widget == "boolean":
        f.options = [("true", "是"), ("false", "否")]
    elif widget == "file" and isinstance(schema.get("x-template"), str):
        f.attrs["template"] = schema["x-template"]
    elif widget == "files":
        f.value = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
    elif widget == "group":
        f.children = build_fields(schema, ui, value if isinstance(value, dict) else {}, errors, name, extra_rows,
                                  choices)
        shown = schema.get("x-fields-from")  # only the fields a list resolved for the task names
        if isinstance(shown, str) and shown in choices:
            keep = {_join(name, key) for key, _label in choices[shown]}
            f.children = [c for c in f.children if c.name in keep]
    elif widget == "repeat":
        items, items_ui = schema.get("items") or {}, ui.get("items") or {}
        rows = value if isinstance(value, list) else []
        # `x-rows-from: <list>`: one row per entry of a picked list (a verdict per listed candidate),
        # its entry fixed, instead of rows where the ids are typed.
        source = schema.get("x-rows-from")
        key = next((k for k, sub in (items.get("properties") or {}).items()
                    if isinstance(sub, dict) and sub.get("x-choices") == source), None) if source else None
        if key and choices.get(source):
            # Exactly the listed entries, in list order, keeping what was entered for each.
            entered = {r.get(key): r for r in rows if isinstance(r, dict)}
            rows = [entered.get(v, {key: v}) for v, _label in choices[source]]
        count = len(rows) + extra_rows.get(name, 0)
        if count == 0:
            count = max(1, int(schema.get("minItems") or 0))
        for i in range(count):
            row = rows[i] if i < len(rows) and isinstance(rows[i], dict) else {}
            fields = build_fields(items, items_ui, row, errors, _join(name, i), extra_rows, choices)
            if key and row.get(key) is not None:
                for child in fields:
                    if child.name == _join(_join(name, i), key):
                        child.widget = "fixed"
            f.rows.append(fields)
        f.template = build_fields(items, items_ui, {}, {}, _join(name, ROW_PLACEHOLDER), {}, choices)
        f.attrs["fixed_rows"] = bool(key)
        f.attrs.update({"min": schema.get("minItems"), "max": schema.get("maxItems")})
    elif widget == "lines":
        f.value = "\n".join(_text(v) for v in value) if isinstance(value, list) else (value or "")
    elif widget in ("integer", "number"):
        f.attrs = {"min": schema.get("minimum"), "max": schema.get("maximum"),
                   "step": "1" if widget == "integer" else "any"}
    elif widget in ("text", "textarea"):
        f.attrs = {"maxlength": schema.get("maxLength")}
    return f


def errors_by_field(details: list[dict]) -> tuple[dict[str, str], list[str]]:
    """Problems keyed by dotted field path; problems without a field go in the second list."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for d in details or []:
        if not isinstance(d, dict):
            general.append(str(d))
            continue
        name = str(d.get("field") or "")
        msg = str(d.get("message_zh") or d.get("message") or "")
        if name:
            by_field[name] = f"{by_field[name]}；{msg}" if name in by_field else msg
        else:
            general.append(msg)
    return by_field, general


def unplaced_errors(fields: list[Field], errors: dict[str, str]) -> list[str]:
    """Errors whose path names no rendered field (shown at the top of the form)."""
    names: set[str] = set()

    def walk(fs: list[Field]) -> None:
        for f in fs:
            names.add(f.name)
            walk(f.children)
            for row in f.rows:
                walk(row)

    walk(fields)
    return [msg for name, msg in errors.items() if name not in names]


# --- reading a submitted form back -----------------------------------------------------


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
