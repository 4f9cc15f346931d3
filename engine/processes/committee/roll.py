"""The owner roll (业主名册): its check and its loading into the case."""
from __future__ import annotations

from engine.runtime.services import ServiceContext, service

from ._shared import NOTICE_OWNER_LIST_LIMIT, _load_roll, _noted, _publicity


@service("committee_check_roll", context=True)
def committee_check_roll(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    """Refuse an owner roll with problems (every one listed with file:line)."""
    ref = (form_data.get("roll") or {}).get("file")
    if not ref:
        ServiceContext.refuse([{"field": "roll.file", "message": "upload the owner roll", "message_zh": "请上传业主名册"}])
    else:
        _load_roll(ctx, ref, ctx.extra.get("progress"))  # a large roll's import job shows its bar


@service("committee_load_roll", context=True)
def committee_load_roll(ctx: ServiceContext) -> dict:
    """Totals of the confirmed roll (DESIGN.md §4.1) and the roll publicity notice's context."""
    data = ctx.data
    form = data["roll"]
    roll = _load_roll(ctx, form["file"])
    start, end, due = _publicity(ctx, data["election"]["publicity_days"])
    notice = {"compound_name": data.get("compound_name", ""), "owner_count": roll.total_owners,
              "total_area": format(roll.total_area, "f"), "inspection_place": form["inspection_place"],
              "publicity_start": start, "publicity_end": end,
              "objection_to": "筹备组",
              **({"objection_contact": form["objection_contact"]} if form.get("objection_contact") else {})}
    if roll.total_owners <= NOTICE_OWNER_LIST_LIMIT:
        notice["owners"] = [{"name": o.name, "units": "、".join(o.units), "area": format(o.area_m2, "f")}
                            for o in roll.owners.values()]
    ctx.summary(units=len(roll.units), owners=roll.total_owners, total_area=format(roll.total_area, "f"))
    return {"ref": form["file"], **roll.summary(), "notice": _noted(notice, due)}


