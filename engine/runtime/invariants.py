"""Process invariants: rules a case's data must satisfy after every change, whatever route made it.

A process declares its invariants next to itself with `invariants("process_key", ...)`. Each is a
pure function of the case's data as it stands after the change and the case's audit events before
it (read-only dicts: action, actor, task_name, detail, after). The service layer checks them in
the same transaction as every save — start, completion, a timer firing — and a violation refuses
the change: nothing commits, the refusal is audited on the case's chain.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ValidationFailed

Event = Mapping[str, Any]
Check = Callable[[Mapping[str, Any], Sequence[Event]], "str | None"]


@dataclass(frozen=True)
class Invariant:
    """`check(data, events)` returns None when the rule holds, else a Chinese sentence saying what
    would be broken. `needs_events=False` spares reading the chain on the hot path."""

    code: str
    title_zh: str
    check: Check
    needs_events: bool = False


class InvariantViolated(ValidationFailed):
    code = "invariant_violated"


_REGISTRY: dict[str, tuple[Invariant, ...]] = {}


def invariants(process_key: str, *items: Invariant) -> None:
    """Declare (or add to) the invariants of `process_key`."""
    codes = {i.code for i in _REGISTRY.get(process_key, ())}
    for item in items:
        if item.code in codes:
            raise ValueError(f"invariant {item.code!r} declared twice for {process_key!r}")
        codes.add(item.code)
    _REGISTRY[process_key] = _REGISTRY.get(process_key, ()) + items


def declared(process_key: str) -> tuple[Invariant, ...]:
    from . import services  # the registry loads the processes, which declare their invariants

    services.load_all()
    return _REGISTRY.get(process_key, ())


def violations(process_key: str, data: Mapping[str, Any], events: Sequence[Event]) -> list[tuple[Invariant, str]]:
    """Every invariant of the process that `data`/`events` break, with its message."""
    found = []
    for inv in declared(process_key):
        message = inv.check(data, events)
        if message:
            found.append((inv, message))
    return found


def case_events(session: Session, case_id: int) -> list[dict[str, Any]]:
    from engine.db.models import AuditEvent  # runtime reads the chain; audit owns its writing

    rows = session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.task_name, AuditEvent.detail,
                                  AuditEvent.data_after).where(AuditEvent.case_id == case_id)
                           .order_by(AuditEvent.seq)).all()
    return [dict(action=a, actor=who, task_name=name, detail=json.loads(d) if d else None,
                 after=json.loads(after) if after else None) for a, who, name, d, after in rows]


def enforce(session: Session, process_key: str, case_id: int, data: Mapping[str, Any]) -> None:
    """Raise `InvariantViolated` if the change being saved would break an invariant."""
    declared_here = declared(process_key)
    if not declared_here:
        return
    events: list[dict[str, Any]] = []
    if any(i.needs_events for i in declared_here):
        events = case_events(session, case_id)
    broken = violations(process_key, data, events)
    if broken:
        raise InvariantViolated(
            "the change would break the process's rules: " + "; ".join(i.code for i, _ in broken),
            "此项办理违反流程规则，未予保存：" + "；".join(m for _, m in broken),
            details=[{"code": i.code, "title_zh": i.title_zh, "message_zh": m} for i, m in broken])
