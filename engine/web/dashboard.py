"""Street dashboard: committees and their party-member share, prior-review compliance, mediation
rates, overdue tasks — charts with the local targets drawn as lines.

Each process declares its panel in its descriptor (`ProcessDescriptor.report`), read through
`engine.views.dashboard`; a report that
fails fails the page (a silent empty panel would hide a real fault)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from engine.config import CIVIL_TZ
from engine.runtime import registry
from engine.runtime.errors import NotFound
from engine.views import dashboard as views

from .charts import Bar, bar_chart
from .context import DASHBOARD_ROLES, Viewer, render, runtime
from .deps import CurrentViewer

router = APIRouter(include_in_schema=False)
PARTY_SHARE_TARGET = 0.5  # new committees: more than half party members (DESIGN §4.2)
DATE = Query("", pattern=r"^(\d{4}-\d{2}-\d{2})?$")

# panel -> title, from the processes' descriptors (registry order)
PANEL_TITLES = registry.derived(lambda: {k: r.title for k, r in registry.reports().items()})


def dashboard_viewer(request: Request, v: CurrentViewer) -> Viewer:
    v.require(DASHBOARD_ROLES)
    return v


def run_report(request: Request, panel: str, street_code: str, date_from: date, date_to: date) -> dict[str, Any]:
    """A panel's report; a report that is not installed says so. A report that fails is a real
    failure and is not hidden behind a friendly panel."""
    data = views.street_report(runtime(request), panel, street_code, date_from, date_to)
    if data is None:
        return {"available": False, "error": "统计模块尚未提供"}
    return {"available": True, "data": data}


def _ratio(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def charts_for(panel: str, data: dict[str, Any]) -> list[tuple[str, Any]]:
    """(title, svg) charts drawn from a report: its `indicators` (value / target ratios) and,
    for committees, each committee's party-member share against the > 50% target."""
    out = []
    indicators = [i for i in data.get("indicators") or [] if isinstance(i, dict)]
    if indicators:
        bars = [Bar(str(i.get("label") or i.get("key")), _ratio(i.get("value")), _ratio(i.get("target")),
                    i.get("display")) for i in indicators]
        out.append(("指标与目标", bar_chart(bars, max_value=1.0, title=PANEL_TITLES[panel])))
    if panel == "committee":
        committees = data.get("committees") or []
        bars = [Bar(str(c.get("compound_name") or c.get("compound_code") or c.get("case_number") or "?"),
                    _ratio(c.get("party_member_share")), PARTY_SHARE_TARGET)
                for c in committees if isinstance(c, dict) and "party_member_share" in c]
        if bars:
            out.append(("各小区业委会党员占比（目标：过半）", bar_chart(bars[:12], max_value=1.0, title="党员占比")))
    return out


# The reports' plain numbers, in Chinese. Keys naming the street or the period are left out: the
# page's heading and 统计期间 already say them.
FACTS_ZH: dict[str, str] = {
    "cases": "案件数", "formed": "已组建", "renewed": "已换届", "in_progress": "办理中", "closed": "已终止",
    "party_majority": "党员过半数的业委会", "with_share": "有党员占比数据的业委会", "overview": "概况",
    "received": "登记件数", "decided": "已作受理决定", "accepted": "受理", "not_accepted": "不予受理",
    "awaiting_acceptance": "待决定是否受理", "concluded": "已结案", "settled": "调解成功",
    "settled_by_level": "各级调解成功件数", "referred": "引导诉讼/仲裁", "mediation_rate": "调处率",
    "success_rate": "调解成功率", "median_days_per_level": "各级调解用时中位数（天）", "level_samples": "各级统计件数",
    "overdue_now": "当前超期件数", "overdue": "超期件数", "party_majority_pct": "党员过半数的业委会占比",
    "settled_level1_share": "社区（一级）化解占比", "settled_level2_or_below_share": "街道及以下化解占比",
    "referred_share": "引导诉讼/仲裁占比",
}
FACTS_HIDDEN = {"street", "street_name", "from", "to", "generated_at", "as_of", "code", "name", "indicators",
                "committees", "period"}


def _fact_text(key: str, value: Any) -> str:
    from .labels import LEVEL_NAMES, display, flat_text

    if isinstance(value, dict):
        return "；".join(f"{LEVEL_NAMES.get(k, FACTS_ZH.get(k, k))}：{_fact_text(key, v)}" for k, v in value.items())
    if isinstance(value, float) and key.endswith(("_rate", "_share")):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:g}"
    return flat_text(display(key, value))


def facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The report's plain numbers and words (and flat maps of them), labelled, for the table
    beside the charts; a missing value reads —, never None."""
    from .labels import key_zh

    out = []
    for k, v in data.items():
        if k in FACTS_HIDDEN or isinstance(v, bool):
            continue
        flat = isinstance(v, (int, float, str, type(None))) or (
            isinstance(v, dict) and v and all(isinstance(x, (int, float, str, type(None))) for x in v.values()))
        if flat:
            out.append((FACTS_ZH.get(k) or key_zh(k), _fact_text(k, v)))
    return out


def _period(date_from: str, date_to: str, now: datetime) -> tuple[date, date]:
    today = now.astimezone(CIVIL_TZ).date()
    start = date.fromisoformat(date_from) if date_from else date(today.year, 1, 1)
    end = date.fromisoformat(date_to) if date_to else today
    return (start, end) if start <= end else (end, start)


@router.get("/dashboard")
def dashboard_home(request: Request, v: Viewer = Depends(dashboard_viewer)):
    streets = views.streets_for(runtime(request), v.actor)
    if len(streets) == 1:
        return RedirectResponse(f"/dashboard/{streets[0].code}", status_code=303)
    return render(request, "dashboard.html", {"streets": streets, "street": None})


@router.get("/dashboard/{street_code}")
def dashboard(request: Request, street_code: str, v: Viewer = Depends(dashboard_viewer),
              date_from: str = DATE, date_to: str = DATE):
    streets = views.streets_for(runtime(request), v.actor)
    street = next((s for s in streets if s.code == street_code), None)
    if street is None:
        raise NotFound(f"unknown street {street_code!r}", f"街道 {street_code!r} 不存在或不在您的辖区内")
    start, end = _period(date_from, date_to, runtime(request).now())
    panels = []
    for panel in registry.reports():
        result = run_report(request, panel, street.code, start, end)
        if result["available"]:
            result["charts"] = charts_for(panel, result["data"])
            result["facts"] = facts(result["data"])
        panels.append({"key": panel, "title": PANEL_TITLES[panel], **result})
    overdue = views.overdue_tasks(runtime(request), street.path)
    from engine.views.dashboard import overdue_by_community

    from .context import PROCESS_ZH

    # 待办超期: each overdue task by community, for the supervisor to follow up
    overdue_lists = overdue_by_community(runtime(request), v.actor, street.path)

    by_process: dict[str, int] = {}
    for row in overdue:
        by_process[row["process_key"]] = by_process.get(row["process_key"], 0) + row["count"]
    overdue_chart = bar_chart([Bar(PROCESS_ZH.get(k, k), n) for k, n in by_process.items()], percent=False,
                              title="超期任务") if by_process else None
    return render(request, "dashboard.html", {
        "streets": streets, "street": street, "panels": panels, "overdue": overdue, "overdue_chart": overdue_chart,
        "overdue_total": sum(by_process.values()), "overdue_lists": overdue_lists, "date_from": start.isoformat(), "date_to": end.isoformat()})


