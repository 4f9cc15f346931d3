"""`build_fields`: a schema, the values to show and the validation problems as a tree of `Field`s
that one Jinja macro (templates/_form.html) renders."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.runtime import forms as form_rules

from .schema import _join, _options, _text, _type, _widget, choice_source

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
    children: list[Field] = field(default_factory=list)  # object: its fields
    rows: list[list[Field]] = field(default_factory=list)  # repeating group: one list per row
    template: list[Field] = field(default_factory=list)  # repeating group: an empty row
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
    clauses: list[dict] = []
    said: list[str] = []
    fixed = test.get("properties") or {}
    for name, cond in fixed.items():
        if not isinstance(cond, dict) or not ({"const", "enum"} & set(cond)):
            return None, []
        wanted = [cond["const"]] if "const" in cond else list(cond["enum"])
        sub = given if isinstance(given := props.get(name), dict) else {}
        sub_ui = ui.get(name) or {}
        labels: dict[str, Any] = dict(_options(sub, sub_ui) or [])
        if _type(sub) == "boolean":
            labels = {"true": "是", "false": "否"}
        clauses.append({"field": _join(prefix, name), "in": [_text(v) for v in wanted]})
        title = sub_ui.get("ui:title") or sub.get("title") or name
        said.append(f"「{title}」为" + "或".join(f"「{labels.get(_text(v), _text(v))}」" for v in wanted))
    for name in test.get("required") or []:
        if name not in fixed:
            sub = given if isinstance(given := props.get(name), dict) else {}
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
        rows_from = str(schema.get("x-rows-from") or "")
        fixed_key = next((k for k, sub in (items.get("properties") or {}).items()
                    if isinstance(sub, dict) and sub.get("x-choices") == rows_from), None) if rows_from else None
        if fixed_key and choices.get(rows_from):
            # Exactly the listed entries, in list order, keeping what was entered for each.
            entered = {r.get(fixed_key): r for r in rows if isinstance(r, dict)}
            rows = [entered.get(v, {fixed_key: v}) for v, _label in choices[rows_from]]
        count = len(rows) + extra_rows.get(name, 0)
        if count == 0:
            count = max(1, int(schema.get("minItems") or 0))
        for i in range(count):
            row = rows[i] if i < len(rows) and isinstance(rows[i], dict) else {}
            fields = build_fields(items, items_ui, row, errors, _join(name, i), extra_rows, choices)
            if fixed_key and row.get(fixed_key) is not None:
                for child in fields:
                    if child.name == _join(_join(name, i), fixed_key):
                        child.widget = "fixed"
            f.rows.append(fields)
        f.template = build_fields(items, items_ui, {}, {}, _join(name, ROW_PLACEHOLDER), {}, choices)
        f.attrs["fixed_rows"] = bool(fixed_key)
        f.attrs.update({"min": schema.get("minItems"), "max": schema.get("maxItems")})
    elif widget == "lines":
        f.value = "\n".join(_text(v) for v in value) if isinstance(value, list) else (value or "")
    elif widget in ("integer", "number"):
        f.attrs = {"min": schema.get("minimum"), "max": schema.get("maximum"),
                   "step": "1" if widget == "integer" else "any"}
    elif widget in ("text", "textarea"):
        f.attrs = {"maxlength": schema.get("maxLength")}
    return f
