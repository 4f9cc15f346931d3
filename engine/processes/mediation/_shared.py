"""What the mediation service tasks share."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.db.models import OrgUnit
from engine.domain import mediation as rules
from engine.domain.periods import CIVIL_TZ
from engine.runtime.services import ServiceContext

PROCESS_KEY = "tiered_mediation"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "mediation_case.schema.json"
INTAKE_FIELDS = ("parties", "category", "facts", "source", "claims", "reported_at")
# Per-session form fields: recorded into the level's log, then cleared so the next session starts blank.
SESSION_FIELDS = ("session_date", "session_place", "session_attendees", "session_summary", "outcome",
                  "extension_days", "extension_reason", "parties_agreed", "failure_reason")
AGREEMENT_FIELDS = ("agreement_facts", "disputed_matters", "responsibilities", "terms", "performance_manner",
                    "performance_deadline")




def _iso(dt: datetime) -> str:
    return dt.isoformat()


def _org_chain(ctx: ServiceContext) -> dict[str, OrgUnit]:
    """The case compound's units by kind: compound, community, street, district."""
    codes = [c for c in ctx.case.org_path.split("/") if c]
    units = ctx.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes))).all()
    return {u.kind: u for u in units}


def committee_name(ctx: ServiceContext, level: str) -> str:
    """The mediation organisation of a level, named after the case's own community/street/district."""
    chain = _org_chain(ctx)
    if level == "community":
        return f"{chain['community'].name}人民调解委员会" if "community" in chain else "社区人民调解委员会"
    if level == "street":
        return f"{chain['street'].name}人民调解委员会" if "street" in chain else "街道人民调解委员会"
    return f"{chain['district'].name}住房综合服务中心" if "district" in chain else "区住房综合服务中心"


def court_name(ctx: ServiceContext) -> str:
    """The basic people's court of the case's district (where the parties live)."""
    chain = _org_chain(ctx)
    return f"{chain['district'].name}人民法院" if "district" in chain else "有管辖权的基层人民法院"


def _names(parties: list[dict], side: str | None = None) -> str:
    picked = [p.get("name", "") for p in parties or [] if side is None or p.get("side") == side]
    return "、".join(n for n in picked if n)


def _matter(data: dict) -> str:
    return rules.CATEGORIES.get(data.get("category") or "", "物业")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(CIVIL_TZ).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


