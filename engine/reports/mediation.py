"""Mediation statistics of one street (CLI `hongwu stats mediation`, the street dashboard).

Only fetches: the cases of the street received in the period, as plain records; every number
is computed by `engine.domain.mediation.compute_stats` (see there for the definitions).
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import Case, OrgUnit
from engine.domain.mediation import CaseRecord, compute_stats
from engine.domain.periods import CIVIL_TZ
from engine.runtime.errors import NotFound, ValidationFailed

PROCESS_KEY = "tiered_mediation"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), CIVIL_TZ)


def mediation_stats(session: Session, street_code: str, date_from: date | None = None, date_to: date | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Statistics of the street's mediation cases received from `date_from` to `date_to`
    (civil dates in Beijing time, both inclusive; open-ended when None), as of `now`."""
    street = session.scalar(select(OrgUnit).where(OrgUnit.code == street_code))
    if street is None or street.kind != "street":
        raise NotFound(f"unknown street {street_code!r}", f"街道 {street_code!r} 不存在")
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed(f"--from {date_from} is after --to {date_to}", f"起始日期 {date_from} 晚于截止日期 {date_to}")
    now = now or datetime.now(CIVIL_TZ)
    q = select(Case.case_number, Case.status, Case.created_at, Case.summary).where(
        Case.process_key == PROCESS_KEY, Case.org_path.startswith(street.path))
    if date_from:
        q = q.where(Case.created_at >= _start_of(date_from))
    if date_to:
        q = q.where(Case.created_at < _start_of(date_to + timedelta(days=1)))
    records = [CaseRecord(number, status, created, json.loads(summary or "{}"))
               for number, status, created, summary in session.execute(q.order_by(Case.id))]
    result = compute_stats(records, now)
    result.update({"street": street.code, "street_name": street.name,
                   "from": date_from.isoformat() if date_from else None,
                   "to": date_to.isoformat() if date_to else None, "as_of": now.isoformat()})
    return result
