"""What the committee election's service tasks share: task-data writes, today, the roll, publicity periods."""
from __future__ import annotations

from datetime import date
from typing import Any

from engine.attachments import load_attachment
from engine.domain import committee as rules
from engine.domain.owner_roll import OwnerRoll, parse_roll
from engine.domain.periods import Deadline, civil_date, period_end
from engine.runtime.services import ServiceContext

NOTICE_OWNER_LIST_LIMIT = 500  # longer rolls are inspected at the posted place, not printed




def _set(ctx: ServiceContext, **values: Any) -> None:
    data = ctx.data
    data.update(values)
    if "approved_candidates" in data:  # the list changed: its summary is recomputed, not adjusted
        ctx.summary(**rules.list_summary(data["approved_candidates"], data.get("excluded_candidates") or [],
                                         data.get("objection_log") or []))


def _today(ctx: ServiceContext) -> date:
    return civil_date(ctx.now)


def _load_roll(ctx: ServiceContext, ref: dict, progress=None) -> OwnerRoll:
    att = load_attachment(ctx.session, ref)
    return parse_roll(att.content, att.filename, progress)


def _public(c: dict) -> dict:
    """What a notice prints about a candidate (no negative-list facts)."""
    return {"name": c.get("name", ""), "gender": c.get("gender", ""), "units": c.get("units", ""),
            "intro": c.get("intro", "")}


def _publicity(ctx: ServiceContext, days: int) -> tuple[str, str, Deadline]:
    d = period_end(ctx.now, days=int(days), kind="publicity")
    return _today(ctx).isoformat(), d.last_day.isoformat(), d


def _noted(context: dict, *deadlines: Deadline) -> dict:
    """A notice context with the note of every deadline that rests on the statutory fallback
    calendar (the date printed may still move when the year's official schedule is published)."""
    notes = list(dict.fromkeys(d.note for d in deadlines if d.note))
    if notes:
        context["body"] = [*(context.get("body") or []), *notes]
    return context


