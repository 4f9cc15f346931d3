"""Lists a form field's value is picked from, resolved for one task (`"x-choices": "<name>"` in
its JSON Schema): matters from the case's catalogue, candidates from its review sheet,
mediators from the users holding the task's role over the case. The page shows them as a
select; the service layer refuses a value outside the list on every route (web, API, CLI).

A process module registers a list with `@choice_list("name")`; the function gets
(session, case, task_role, task_data) and returns [(value, Chinese label), …]."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from engine.db.models import OrgUnit, User

from . import services
from .roles import ROLES

ChoiceList = Callable[[Any, Any, str, dict], list[tuple[str, str]]]
_LISTS: dict[str, ChoiceList] = {}


def choice_list(name: str):
    def register(func: ChoiceList) -> ChoiceList:
        if name in _LISTS and _LISTS[name] is not func:
            raise ValueError(f"choice list {name!r} registered twice")
        _LISTS[name] = func
        return func
    return register


def sources(schema: Any, found: set[str] | None = None) -> set[str]:
    """Every list a form uses: values picked from (`x-choices`), one row per entry (`x-rows-from`),
    the fields an object shows (`x-fields-from`)."""
    found = set() if found is None else found
    if isinstance(schema, dict):
        for key in ("x-choices", "x-rows-from", "x-fields-from"):
            if isinstance(schema.get(key), str):
                found.add(schema[key])
        for value in schema.values():
            sources(value, found)
    elif isinstance(schema, list):
        for value in schema:
            sources(value, found)
    return found


def resolve(session, case, role: str, task_data: dict, schema: dict) -> dict[str, list[tuple[str, str]]]:
    services.load_all()  # process modules register their lists on import
    out = {}
    for name in sources(schema):
        func = _LISTS.get(name)
        out[name] = [(str(v), str(label)) for v, label in func(session, case, role, task_data or {})] if func else []
    return out


def problems(schema: dict, data: Any, lists: dict[str, list[tuple[str, str]]], path: str = "") -> list[dict]:
    """A {field, message, message_zh} per value that is not on its field's list."""
    out: list[dict] = []
    if not isinstance(schema, dict):
        return out
    name = schema.get("x-choices")
    if isinstance(name, str) and data is not None and not isinstance(data, (dict, list)):
        allowed = {v for v, _ in lists.get(name, [])}
        if str(data) not in allowed:
            title = schema.get("title") or path
            out.append({"field": path, "message": f"{path}: {data!r} is not one of the offered choices",
                        "message_zh": f"「{title}」请从列表中选择（{data} 不在可选范围内）"})
        return out
    if isinstance(data, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in data:
                out += problems(sub, data[key], lists, f"{path}.{key}" if path else key)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(data):
            out += problems(schema["items"], item, lists, f"{path}.{i}" if path else str(i))
    return out


@choice_list("mediators")
@choice_list("assignees")
def role_holders(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """Active users holding the task's role whose jurisdiction covers the case (the mediator a
    level assigns, the person made responsible for an overdue step)."""
    rows = session.execute(select(User.display_name, OrgUnit.name, OrgUnit.path)
                           .join(OrgUnit, OrgUnit.id == User.jurisdiction_id, isouter=True)
                           .where(User.role == role, User.active.is_(True))
                           .order_by(User.display_name)).all()
    seen, out = set(), []
    for display, org_name, org_path in rows:
        if case.org_path.startswith(org_path or "") and display not in seen:
            seen.add(display)
            out.append((display, f"{display}（{org_name or ROLES.get(role, role)}）"))
    return out
