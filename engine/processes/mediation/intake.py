"""Intake and acceptance (受理登记、受理审查) of a dispute."""
from __future__ import annotations

from engine.db.models import OrgUnit
from engine.domain import mediation as rules
from engine.runtime.services import ServiceContext, service
from engine.settings_store import get_setting

from ._shared import _iso


@service("mediation_open_case", context=True)
def open_case(ctx: ServiceContext) -> dict:
    """A dispute arrived: note when, and whether its registration came with it (API / CLI)."""
    data = ctx.data
    data["intake_prefilled"] = data.get("intake_prefilled") is True
    summary = ctx.summary()
    summary["received_at"] = _iso(ctx.case.created_at if ctx.case is not None else ctx.now)
    if data.get("source"):
        summary["source"] = data["source"]
    return summary


@service("mediation_record_intake", context=True)
def record_intake(ctx: ServiceContext) -> dict:
    """The dispute as registered (window form or API): facts for reporting → `case_summary`."""
    data = ctx.data
    parties = data.get("parties") or []
    summary = ctx.summary()
    summary.update({
        "received_at": _iso(ctx.case.created_at if ctx.case is not None else ctx.now),
        "category": data.get("category"),
        "source": data.get("source"),
        "parties": len(parties),
        "party_kinds": sorted({p.get("kind") for p in parties if p.get("kind")}),
    })
    if data.get("external_ref"):
        summary["external_ref"] = data["external_ref"]
    return summary


@service("mediation_record_acceptance", context=True)
def record_acceptance(ctx: ServiceContext) -> dict:
    """The window's decision: accept (at which level, why a higher one) or not. Pins the
    street's deadline setting for the whole case, so a later change does not move its dates."""
    data = ctx.data
    summary = ctx.summary()
    accepted = data.get("accepted") is True
    summary["accepted"] = accepted
    summary["decided_at"] = _iso(ctx.now)
    if not accepted:
        summary["outcome"] = "not_accepted"
        summary["not_accepted_reason"] = data.get("not_accepted_reason")
        return summary
    level = rules.check_level(data.get("start_level") or "community")
    if level != "community" and not (data.get("start_level_reason") or "").strip():
        ServiceContext.refuse([ServiceContext.problem("start_level_reason", "starting above the community needs a recorded reason",
                          "直接由街道或区级受理的复杂、重大纠纷须说明理由")])
    compound = ctx.session.get(OrgUnit, ctx.case.compound_id)
    setting = get_setting(ctx.session, rules.SETTING_KEY, compound, rules.default_setting())
    value = setting.value if not rules.validate_setting(setting.value) else rules.default_setting()
    data["mediation_rules"] = {"value": rules.effective_setting(value), "version": setting.version,
                               "org_code": setting.org_code}
    data["extensions"] = []
    data["levels"] = {}
    summary.update({"start_level": level, "start_level_reason": data.get("start_level_reason") or None,
                    "accepted_at": _iso(ctx.now), "level_started_at": {}, "level_ended_at": {},
                    "level_due_at": {}, "level_results": {}, "extensions": [], "escalations": []})
    return summary


