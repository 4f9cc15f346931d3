"""Prior-review report (先议事项统计) for one street, per compound: matters by type and outcome,
review compliance, median days in review, overdue reviews.

Compliance is not taken from what a case says about itself: it is recomputed from each case's
audit chain — every recorded decision on a listed matter must come after an "agree" review of the
same submission round (the rule `engine.domain.prior_review.review_status` encodes). It must be
100 %; anything less names the cases. A street that switched matters off or removed them from its
catalogue deviates from the list: every such change is listed with the version, who and when,
read from the catalogue's versions. Read-only; the dashboard and `hongwu report prior-review`
call `prior_review_report`.
"""
from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.orm import Session, defer

from engine.db.models import AuditEvent, Case, HumanTask, OrgUnit, SettingVersion
from engine.domain import prior_review as pr
from engine.domain.periods import CIVIL_TZ
from engine.runtime.errors import NotFound, ValidationFailed

PROCESS_KEY = "prior_review"
REVIEW_TASK = "branch_review"
OUTCOME_ZH = {"passed": "通过", "rejected": "未通过", "withdrawn": "撤回", "in_progress": "办理中"}
CHANGE_ZH = {"switched_off": "停用", "removed": "删除"}


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), CIVIL_TZ)


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _pct(num: int, den: int) -> str:
    return "—" if den == 0 else f"{100 * num / den:.1f}%".replace(".0%", "%")


def _empty_bucket(code: str, name: str) -> dict[str, Any]:
    return {"code": code, "name": name, "cases": 0, "by_matter": {}, "outcomes": Counter(),
            "decisions": 0, "listed_decisions": 0, "reviewed_decisions": 0, "unreviewed_cases": [],
            "review_days": [], "overdue_reviews": 0, "open_overdue_reviews": 0, "open_reviews": 0,
            "skipped_reviews": 0, "refused_attempts": 0}


def _finish(b: dict[str, Any]) -> dict[str, Any]:
    days = b.pop("review_days")
    by_matter = sorted(b["by_matter"].values(), key=lambda m: (m["no"] or 99, m["matter_code"]))
    for m in by_matter:
        m["outcomes"] = dict(m["outcomes"])
    b.update(
        by_matter=by_matter, outcomes=dict(b["outcomes"]),
        compliance=_ratio(b["reviewed_decisions"], b["listed_decisions"]),
        compliance_pct=_pct(b["reviewed_decisions"], b["listed_decisions"]),
        reviews_completed=len(days),
        median_review_days=round(statistics.median(days), 1) if days else None,
    )
    return b


def prior_review_report(session: Session, street_code: str, date_from: date | None = None,
                        date_to: date | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Cases opened between `date_from` and `date_to` (civil dates, both inclusive)."""
    street = session.scalar(select(OrgUnit).where(OrgUnit.code == street_code))
    if street is None:
        raise NotFound(f"unknown organisation {street_code!r}", f"组织 {street_code!r} 不存在")
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("--from is after --to", "起始日期晚于截止日期")
    now = now or datetime.now(CIVIL_TZ)
    # Not the workflow state: read for every case of the street, it would be most of the dashboard's time.
    q = select(Case).options(defer(Case.state)).where(Case.process_key == PROCESS_KEY,
                                                      Case.org_path.startswith(street.path))
    if date_from:
        q = q.where(Case.created_at >= _day_start(date_from))
    if date_to:
        q = q.where(Case.created_at < _day_start(date_to + timedelta(days=1)))
    cases = list(session.scalars(q.order_by(Case.id)))
    compounds = {o.id: o for o in session.scalars(
        select(OrgUnit).where(OrgUnit.kind == "compound", OrgUnit.path.startswith(street.path)).order_by(OrgUnit.code))}
    buckets = {cid: _empty_bucket(o.code, o.name) for cid, o in compounds.items()}
    total = _empty_bucket(street.code, street.name)

    # The ids written into the statement: as thousands of bound parameters they cost the driver more
    # to splice in than the look-up itself (and a subquery of the same cases leaves the planner
    # guessing how many there are).
    ids: BindParameter[list[int]] = bindparam("case_ids", [c.id for c in cases], literal_execute=True)
    events: dict[int, list[tuple[str, dict]]] = defaultdict(list)
    refused: Counter = Counter()
    open_reviews: dict[int, datetime | None] = {}
    if cases:
        for case_id, action, raw in session.execute(
                select(AuditEvent.case_id, AuditEvent.action, AuditEvent.detail)
                .where(AuditEvent.case_id.in_(ids), AuditEvent.action.startswith("prior_review:", autoescape=True)
                       | AuditEvent.action.startswith("refused:", autoescape=True))
                .order_by(AuditEvent.case_id, AuditEvent.seq)):
            if case_id is None:  # never: only these cases' events were asked for
                continue
            if action.startswith("prior_review:"):
                events[case_id].append((action, json.loads(raw) if raw else {}))
            elif action.startswith("refused:"):
                refused[case_id] += 1
        for case_id, due in session.execute(select(HumanTask.case_id, HumanTask.due_at).where(
                HumanTask.case_id.in_(ids), HumanTask.spec_name == REVIEW_TASK)):
            open_reviews[case_id] = due
    order = {m["code"]: m["no"] for m in pr.DEFAULT_MATTERS}

    for case in cases:
        b = buckets.setdefault(case.compound_id, _empty_bucket(str(case.compound_id), ""))
        summary = json.loads(case.summary or "{}")
        code = summary.get("matter_code") or "unclassified"
        outcome = summary.get("outcome") or "in_progress"
        # a decision must follow an "agree" review of the same round: re-walk the chain
        history: list[tuple[str, dict]] = []
        decisions = listed_decisions = reviewed = 0
        for action, detail in events.get(case.id, []):
            if action == pr.DECISION_RECORDED:
                status = pr.review_status(history)
                decisions += 1
                if status.listed:
                    listed_decisions += 1
                    reviewed += status.reviewed
            elif action == pr.REVIEW_NOT_REQUIRED:
                for bucket in (b, total):
                    bucket["skipped_reviews"] += 1
            history.append((action, detail))
        reviews = summary.get("reviews") or []
        days = [r["days"] for r in reviews if r.get("days") is not None]
        overdue = sum(1 for r in reviews if r.get("overdue") or r.get("escalated"))
        open_due = open_reviews.get(case.id)
        escalated = bool(summary.get("escalated_this_round"))  # overdue, with the community party org now
        is_open = case.id in open_reviews or escalated
        open_overdue = escalated or bool(open_due and open_due < now)
        for bucket in (b, total):
            bucket["cases"] += 1
            bucket["outcomes"][outcome] += 1
            m = bucket["by_matter"].setdefault(code, {
                "matter_code": code, "matter_name": summary.get("matter_name") or code,
                "no": order.get(code), "listed": summary.get("listed"), "total": 0, "outcomes": Counter()})
            m["total"] += 1
            m["outcomes"][outcome] += 1
            bucket["decisions"] += decisions
            bucket["listed_decisions"] += listed_decisions
            bucket["reviewed_decisions"] += reviewed
            if reviewed < listed_decisions:
                bucket["unreviewed_cases"].append(case.case_number)
            bucket["review_days"].extend(days)
            bucket["overdue_reviews"] += overdue + (1 if open_overdue else 0)
            bucket["open_overdue_reviews"] += 1 if open_overdue else 0
            bucket["open_reviews"] += 1 if is_open else 0
            bucket["refused_attempts"] += refused.get(case.id, 0)

    totals = _finish(total)
    deviations = catalogue_deviations(session, street, date_to)
    return {
        "street": {"code": street.code, "name": street.name},
        "indicators": _indicators(totals),
        "overview": {"案件数": totals["cases"], "列入先议的决定": totals["listed_decisions"],
                     "经先议的决定": totals["reviewed_decisions"], "先议合规率": totals["compliance_pct"],
                     "先议用时中位数（天）": totals["median_review_days"], "超期先议（次）": totals["overdue_reviews"],
                     "拦截的违规操作（次）": totals["refused_attempts"],
                     "目录偏离（停用或删除事项，次）": len(deviations)},
        "catalogue_deviations": deviations,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "generated_at": now.isoformat(),
        "totals": totals,
        "compounds": [_finish(b) for b in buckets.values()],
    }


def catalogue_deviations(session: Session, street: OrgUnit, date_to: date | None = None) -> list[dict[str, Any]]:
    """Every catalogue version that applies to the street's compounds (set on the street, above it
    or below it) and switched a matter off or removed it, compared with the version before it."""
    codes = [c for c in street.path.split("/") if c]
    units: dict[int | None, OrgUnit] = {u.id: u for u in session.scalars(select(OrgUnit).where(
        (OrgUnit.code.in_(codes)) | OrgUnit.path.startswith(street.path)))}
    q = (select(SettingVersion).where(SettingVersion.key == pr.SETTING_KEY,
                                      SettingVersion.org_unit_id.in_(list(units)) | SettingVersion.org_unit_id.is_(None))
         .order_by(SettingVersion.org_unit_id, SettingVersion.version))
    if date_to:
        q = q.where(SettingVersion.created_at < _day_start(date_to + timedelta(days=1)))
    out: list[dict[str, Any]] = []
    latest: dict[int | None, dict] = {}
    previous: dict[int | None, dict | None] = {}
    for row in session.scalars(q):
        value = json.loads(row.value)
        for d in pr.catalogue_deviations(previous.get(row.org_unit_id), value):
            unit = units.get(row.org_unit_id)
            out.append({**d, "change_zh": CHANGE_ZH[d["change"]], "org_code": unit.code if unit else None,
                        "org_name": unit.name if unit else "全局", "version": row.version, "by": row.created_by,
                        "at": row.created_at.isoformat(), "_org": row.org_unit_id})
        previous[row.org_unit_id] = latest[row.org_unit_id] = value
    for d in out:  # still in force in the newest version of that unit's catalogue?
        m = pr.find_matter(latest[d.pop("_org")], d["code"])
        d["in_force"] = m is None or not m.get("enabled", True)
    return sorted(out, key=lambda d: d["at"])


def _indicators(t: dict[str, Any]) -> list[dict[str, Any]]:
    """Ratios against targets, for the dashboard's charts."""
    done = t["reviews_completed"]
    late = min(t["overdue_reviews"] - t["open_overdue_reviews"], done)
    return [
        {"key": "compliance", "label": "先议合规率（决定前经党支部先议）", "value": t["compliance"], "target": 1.0,
         "display": t["compliance_pct"], "target_text": "100%",
         "met": None if t["compliance"] is None else t["compliance"] == 1.0},
        {"key": "reviews_on_time", "label": "先议按期完成率", "value": _ratio(done - late, done), "target": None,
         "display": _pct(done - late, done), "target_text": "", "met": None},
    ]


def format_text(report: dict[str, Any]) -> str:
    """The report as plain Chinese text for the terminal."""
    t = report["totals"]
    period = f"{report['from'] or '…'} 至 {report['to'] or '…'}"
    lines = [f"{report['street']['name']}（{report['street']['code']}）先议事项统计　{period}",
             f"合计：案件 {t['cases']} 件；列入先议的决定 {t['listed_decisions']} 项，其中经先议 {t['reviewed_decisions']} 项，"
             f"合规率 {t['compliance_pct']}；先议用时中位数 {_days(t['median_review_days'])}；"
             f"超期先议 {t['overdue_reviews']} 次（在办超期 {t['open_overdue_reviews']}）；拦截违规操作 {t['refused_attempts']} 次"]
    for d in report.get("catalogue_deviations", []):
        lines.append(f"！目录偏离：{d['org_name']} 第{d['version']}版{d['change_zh']}「{d['name']}」（{d['code']}），"
                     f"{d['by']} 于 {d['at'][:16].replace('T', ' ')} (UTC)" + ("" if d["in_force"] else "，已恢复"))
    for c in report["compounds"]:
        lines.append(f"\n{c['name']}（{c['code']}）：案件 {c['cases']} 件，合规率 {c['compliance_pct']}，"
                     f"先议用时中位数 {_days(c['median_review_days'])}，超期先议 {c['overdue_reviews']} 次")
        for m in c["by_matter"]:
            outs = "，".join(f"{OUTCOME_ZH.get(k, k)} {v}" for k, v in sorted(m["outcomes"].items()))
            lines.append(f"  · {m['matter_name']}：{m['total']} 件（{outs}）")
        if c["unreviewed_cases"]:
            lines.append("  ！未经先议即作决定：" + "、".join(c["unreviewed_cases"]))
    return "\n".join(lines)


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:g} 天"
