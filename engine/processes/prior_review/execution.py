"""Execution and its publicity (执行、公示)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from engine.domain import prior_review as pr
from engine.domain.periods import civil_date, period_end
from engine.runtime.choices import choice_list
from engine.runtime.errors import ValidationFailed
from engine.runtime.panels import panel, section
from engine.runtime.services import ServiceContext, service

from ._shared import _audit, _iso_now
from .catalogue import pinned_catalogue
from .enforcement import check_review


@service("prior_review.execution_publicity", context=True)
def execution_publicity(ctx: ServiceContext) -> dict:
    """What was done after the decision, published for `publicity_days` days (e.g. fund spending)."""
    check_review(ctx.session, ctx.case)
    data = ctx.data
    entries, total = [], Decimal(0)
    for i, e in enumerate(data.get("execution_entries") or [], start=1):
        try:
            amount = Decimal(str(e.get("amount", 0)))
        except InvalidOperation:
            raise ValidationFailed(f"entry {i}: amount is not a number", f"第{i}项金额不是数字") from None
        total += amount
        entries.append({"date": e.get("date"), "item": e.get("item"), "amount": format(amount, "f"),
                        "note": e.get("note") or ""})
    days = int(data.get("publicity_days") or 7)
    end = period_end(ctx.now, days=days, kind="publicity")
    start = civil_date(ctx.now) + timedelta(days=1)
    c = data.get("classification") or {}
    decision = data.get("result_notice") or {}
    _audit(ctx, "prior_review:execution_published", {"total_amount": format(total, "f"), "entries": len(entries),
                                                    "publicity_end": end.last_day.isoformat()})
    ctx.summary(stage="publicity", executed_at=_iso_now(ctx), execution_total=format(total, "f"),
             publicity_end=end.last_day.isoformat())
    compound = ctx.compound()
    notice = {"compound_name": compound.name, "issuer": f"{compound.name}业主委员会",
              "matter": c.get("matter_name") or data.get("title"), "entries": entries,
              "total_amount": format(total, "f"), "publicity_start": start.isoformat(),
              "publicity_end": end.last_day.isoformat(),
              "decision_ref": (f"《{decision['title']}》（{decision['doc_number']}）"
                               if decision.get("doc_number") and decision.get("title") else None),
              "body": ([data.get("execution_summary")] if data.get("execution_summary") else [])
              + ([end.note] if end.note else []) or None}
    return {**end.fields("publicity_end_at"), "publicity_end": end.last_day.isoformat(), "notice": notice}


@service("prior_review.close", context=True)
def close(ctx: ServiceContext) -> dict:
    """The end of the case: publicity over, or a decision that did not pass."""
    summary = ctx.data.get("case_summary") or {}
    ctx.summary(stage="closed", closed_at=_iso_now(ctx))
    return {"outcome": summary.get("outcome")}


@choice_list("matters")
def matter_choices(session: Session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The matters of the catalogue the case is pinned to (the ones the street switched off are
    marked: classification treats them as not needing a review), then "not on the catalogue"."""
    catalogue = pinned_catalogue(session, task_data.get("catalogue_pin"))
    listed = [(m["code"], f"{m.get('no', '')}. {m['name']}" + ("" if m.get("enabled", True) else "（本街道未列为先议事项）"))
              for m in catalogue["matters"]]
    return listed + [(pr.UNLISTED, "不属于先议事项目录（非先议事项）")]


@panel("matter")
@panel("case:prior_review")
def matter_panel(session: Session, case, task_data: dict) -> list[dict]:
    """The matter under review: what it is, its Art. 278 item and threshold, and its documents."""
    c = task_data.get("classification") or {}
    amount = task_data.get("amount")
    facts = [("事项标题", task_data.get("title")), ("事项", c.get("matter_name")),
             ("民法典第二百七十八条", f"第{c['art278_item']}项：{c.get('art278_zh', '')}" if c.get("art278_item") else None),
             ("表决通过标准", c.get("threshold_zh")),
             ("决定方式", ("业主大会表决" if c.get("assembly_vote") else "业主委员会决定") if c else None),
             ("是否须党组织先议", ("是" if c.get("listed") else "否") if c else None),
             ("提交方", f"{pr.SUBMITTER_KINDS.get(task_data.get('submitter_kind') or '', '')} {task_data.get('submitter_name') or ''}".strip()),
             ("涉及金额", f"{amount} 元" if amount not in (None, "") else None)]
    sections = [section("待议事项", facts=facts, notes=[c["reason_zh"]] if c.get("reason_zh") else [])]
    if task_data.get("description"):
        sections.append(section("事项说明", notes=[task_data["description"]]))
    if task_data.get("revision_note"):
        sections.append(section("修改说明", notes=[task_data["revision_note"]]))
    if task_data.get("review_opinion"):
        sections.append(section("小区党支部先议意见", notes=list(task_data["review_opinion"])
                                + ([f"修改要求：{task_data['required_changes']}"] if task_data.get("required_changes") else [])))
    docs = task_data.get("attachments") or []
    sections.append(section("事项附件", files=docs, notes=[] if docs else ["提交方未上传附件。"]))
    return sections


