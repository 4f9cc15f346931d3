"""When a waiting timer falls due, and when a human task is due, read off SpiffWorkflow tasks."""
from __future__ import annotations

import ast
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

DUE_PROPERTY = "dueDateVariable"


def parse_due(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, dict):  # cycle timers keep {"cycles", "next", "duration"}
        value = value.get("next")
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = TimerEventDefinition.get_datetime(str(value))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return datetime.fromtimestamp(dt.timestamp(), tz=UTC)


def timer_due(task) -> datetime | None:
    """Due time of a waiting timer event task, else None."""
    event = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event, TimerEventDefinition):
        return None
    return parse_due(task._get_internal_data("event_value"))


def human_task_due(task) -> datetime | None:
    """A user task is due when the earliest timer on its boundary fires, or at the time held in
    the data variable named by its `dueDateVariable` property."""
    props = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
    var = props.get(DUE_PROPERTY)
    if var and task.data.get(var):
        return parse_due(task.data[var])
    parent = task.parent
    if parent is None:
        return None
    # Only timers on the task's own boundary: a parallel split's other branches are siblings too.
    dues = [d for sib in parent.children
            if sib is not task and sib.state == TaskState.WAITING and isinstance(sib.task_spec, BoundaryEvent)
            and (d := timer_due(sib)) is not None]
    return min(dues) if dues else None


# --- what a due time was counted from ----------------------------------------------------------
# A process keeps a counted deadline in task data next to the period it was counted from: the due
# at `X[...]['k']` (or a plain variable `k`) has its period at `X[...]['k_period']` (`k_period`),
# see engine.domain.periods.Deadline.as_data. Timers name the due by such an expression, user
# tasks by their dueDateVariable or their boundary timer.

PERIOD_SUFFIX = "_period"


def due_path(expression: str | None) -> list[str] | None:
    """`a['b']['c']` → ["a", "b", "c"], a plain name → [name]; None for any other expression."""
    if not expression:
        return None
    found = _parsed_path(expression)
    return list(found) if found is not None else None


@lru_cache(maxsize=1024)  # a definition has few timer expressions; they are read on every save
def _parsed_path(expression: str) -> tuple[str, ...] | None:
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        return None
    keys: list[str] = []
    while isinstance(node, ast.Subscript):
        if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            return None
        keys.append(node.slice.value)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return (node.id, *reversed(keys))


def container(data: dict, path: list[str]) -> dict | None:
    """The dict holding the last key of `path` in `data`, or None."""
    node: Any = data
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _period_at(data: dict, path: list[str] | None) -> dict | None:
    if not path:
        return None
    holder = container(data, path)
    period = holder.get(path[-1] + PERIOD_SUFFIX) if holder is not None else None
    return period if isinstance(period, dict) and period.get("trigger") else None


def timer_due_path(task) -> list[str] | None:
    event = getattr(task.task_spec, "event_definition", None)
    return due_path(getattr(event, "expression", None)) if isinstance(event, TimerEventDefinition) else None


def human_task_due_path(task) -> list[str] | None:
    props = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
    var = props.get(DUE_PROPERTY)
    return [var] if var else None


def timer_period(task) -> dict | None:
    """The period a waiting timer's due was counted from (Period.as_dict), if it was counted."""
    return _period_at(task.data, timer_due_path(task))


def human_task_period(task) -> dict | None:
    """The period behind `human_task_due`: that of the dueDateVariable, else of the earliest
    waiting boundary timer."""
    var_path = human_task_due_path(task)
    if var_path and task.data.get(var_path[0]):
        return _period_at(task.data, var_path)
    parent = task.parent
    if parent is None:
        return None
    timers = [(d, sib) for sib in parent.children
              if sib is not task and sib.state == TaskState.WAITING and (d := timer_due(sib)) is not None]
    return timer_period(min(timers, key=lambda x: x[0])[1]) if timers else None
