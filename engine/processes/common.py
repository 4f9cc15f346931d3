"""Service-task functions every process may call."""
from __future__ import annotations

from engine.domain.periods import period_end
from engine.runtime.services import ServiceContext, service


@service("deadline", context=True)
def deadline(ctx: ServiceContext, days: int = 0, months: int = 0, kind: str = "default") -> dict:
    """A lawful deadline counted from now: {"due": ISO UTC, "due_period", "due_note", "last_day",
    "calendar_covered", "note"} (see Deadline.as_data)."""
    return period_end(ctx.now, days=int(days), months=int(months), kind=kind).as_data()
