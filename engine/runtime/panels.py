"""What-to-review panels: read-only context a user task shows above its form, declared next to
the form (`"x-panel": "<name>"` at the top of the task's JSON Schema). A process module registers
a panel with `@panel("name")`; the function gets (session, case, task_data) and returns sections
the page renders the same way for every process:

    {"title": str,
     "facts": [(label, text), …],            # a definition list
     "table": {"headers": [...], "rows": [[text, …], …]} | None,
     "warnings": [text, …], "notes": [text, …],
     "files": [{"attachment_id", "filename", "sha256"}, …]}
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import services

PanelBuilder = Callable[[Any, Any, dict], list[dict]]
_PANELS: dict[str, PanelBuilder] = {}


def panel(name: str):
    def register(func: PanelBuilder) -> PanelBuilder:
        if name in _PANELS and _PANELS[name] is not func:
            raise ValueError(f"panel {name!r} registered twice")
        _PANELS[name] = func
        return func
    return register


def section(title: str, *, facts=None, table=None, warnings=None, notes=None, files=None) -> dict:
    return {"title": title, "facts": [(str(k), "—" if v in (None, "") else str(v)) for k, v in facts or []],
            "table": table, "warnings": list(warnings or []), "notes": list(notes or []),
            "files": [f for f in files or [] if isinstance(f, dict) and f.get("attachment_id")]}


def build(session, case, schema: dict | None, task_data: dict) -> list[dict]:
    """The sections of the panel a task's form declares ([] when it declares none)."""
    name = (schema or {}).get("x-panel")
    if not isinstance(name, str):
        return []
    services.load_all()  # process modules register their panels on import
    func = _PANELS.get(name)
    if func is None:
        return [section("办理参考", notes=[f"未找到参考信息面板「{name}」"])]
    return func(session, case, task_data or {})


def for_case(session, case, data: dict) -> list[dict]:
    """What the case page shows about the case's subject (`@panel("case:<process key>")`)."""
    services.load_all()
    func = _PANELS.get(f"case:{case.process_key}")
    return func(session, case, data or {}) if func else []
