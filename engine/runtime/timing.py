"""When a waiting timer falls due, and when a human task is due, read off SpiffWorkflow tasks."""
from __future__ import annotations

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

DUE_PROPERTY = "dueDateVariable"


def _parse(value) -> datetime | None:
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
        dt = dt.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(dt.timestamp(), tz=timezone.utc)


def timer_due(task) -> datetime | None:
    """Due time of a waiting timer event task, else None."""
    event = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event, TimerEventDefinition):
        return None
    return _parse(task._get_internal_data("event_value"))


def human_task_due(task) -> datetime | None:
    """A user task is due when the earliest timer on its boundary fires, or at the time held in
    the data variable named by its `dueDateVariable` property."""
    props = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
    var = props.get(DUE_PROPERTY)
    if var and task.data.get(var):
        return _parse(task.data[var])
    parent = task.parent
    if parent is None:
        return None
    # Only timers on the task's own boundary: a parallel split's other branches are siblings too.
    dues = [timer_due(sib) for sib in parent.children
            if sib is not task and sib.state == TaskState.WAITING and isinstance(sib.task_spec, BoundaryEvent)]
    dues = [d for d in dues if d is not None]
    return min(dues) if dues else None
