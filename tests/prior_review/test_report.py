"""The prior-review report: per compound, matters by type and outcome, compliance (100 %),
median days in review, overdue reviews."""
from __future__ import annotations

import json
from datetime import date

from engine.reports.prior_review import prior_review_report
from tests.prior_review.support import (
    branch_secretary,
    committee_decision,
    confirm,
    decide,
    review,
    start,
    submission,
    task_named,
)


def _reviewed(prt, actors, clock, code, days_in_review=0, outcome="agree"):
    cn = start(prt, actors, code)
    if days_in_review:
        clock.advance(days=days_in_review)
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt, outcome))
    return cn


def test_report_on_a_street(prt, actors, clock):
    a = _reviewed(prt, actors, clock, "property_company", days_in_review=2)
    decide(prt, actors, a, clock, assembly=True)
    b = _reviewed(prt, actors, clock, "fund_raising", days_in_review=3)
    decide(prt, actors, b, clock, assembly=True, agree=74, disagree=26)
    c = _reviewed(prt, actors, clock, "common_income")
    decide(prt, actors, c, clock, assembly=False)
    d = _reviewed(prt, actors, clock, "rebuilding", outcome="disagree")
    prt.complete_task(task_named(prt, d, actors["cparty"], "coordinate"), actors["cparty"],
                      {"coordination_action": "withdraw", "coordination_note": "撤回。"})
    e = prt.start_case("prior_review", "PK-JP-XC-02", actors["community"]).case_number
    prt.complete_task(task_named(prt, e, actors["community"], "submit"), actors["community"],
                      submission("unlisted", unlisted_name="更换门禁", unlisted_art278_item=9,
                                 unlisted_assembly_vote=False))
    branch2 = branch_secretary(prt, "PK-JP-XC-02")
    prt.complete_task(task_named(prt, e, branch2, "confirm_classification"), branch2, confirm())
    prt.complete_task(task_named(prt, e, actors["community"], "committee_decision"), actors["community"],
                      committee_decision(prt))
    f = start(prt, actors, "fund_use")  # left in review past its deadline
    clock.advance(days=11)

    with prt.uow() as s:
        report = prior_review_report(s, "PK-JP", now=prt.now())
    t = report["totals"]
    assert t["cases"] == 6
    assert (t["listed_decisions"], t["reviewed_decisions"], t["compliance"], t["compliance_pct"]) == (3, 3, 1.0, "100%")
    assert t["decisions"] == 4 and t["skipped_reviews"] == 1 and t["unreviewed_cases"] == []
    assert t["median_review_days"] == 1.0  # reviews took 2, 3, 0, 0 days
    assert t["open_overdue_reviews"] == 1 and t["overdue_reviews"] == 1 and t["open_reviews"] == 1
    assert t["outcomes"] == {"passed": 3, "rejected": 1, "withdrawn": 1, "in_progress": 1}
    by_code = {c["code"]: c for c in report["compounds"]}
    xc01, xc02 = by_code["PK-JP-XC-01"], by_code["PK-JP-XC-02"]
    assert xc01["cases"] == 5 and xc01["compliance_pct"] == "100%"
    assert {m["matter_code"]: m["outcomes"] for m in xc01["by_matter"]} == {
        "property_company": {"passed": 1}, "fund_use": {"in_progress": 1}, "fund_raising": {"rejected": 1},
        "rebuilding": {"withdrawn": 1}, "common_income": {"passed": 1}}
    assert [m["matter_code"] for m in xc01["by_matter"]] == [
        "property_company", "fund_use", "fund_raising", "rebuilding", "common_income"]  # catalogue order
    assert xc02["compliance"] is None and xc02["compliance_pct"] == "—"  # no listed decisions there
    assert xc02["by_matter"][0]["listed"] is False
    assert by_code["PK-JP-WJ-01"]["cases"] == 0

    assert prt.run_due_timers() == 1  # escalated: still an overdue review, now with the community party org
    with prt.uow() as s:
        report = prior_review_report(s, "PK-JP", now=prt.now())
    assert report["totals"]["open_overdue_reviews"] == 1
    cn_f = f
    with prt.uow() as s:
        until_start = prior_review_report(s, "PK-JP", date_from=date(2026, 11, 21), date_to=date(2026, 11, 21),
                                          now=prt.now())
    assert until_start["totals"]["cases"] == 1  # only the first case was opened that day
    assert cn_f and a and b and c and d and e


def test_refused_attempts_are_counted_and_compliance_stays_whole(prt, actors):
    import pytest

    from engine.runtime.errors import Forbidden

    cn = start(prt, actors, "fund_use")
    tid = task_named(prt, cn, actors["branch"], "branch_review")
    with pytest.raises(Forbidden):
        prt.complete_task(tid, actors["community"], review(prt))
    with prt.uow() as s:
        report = prior_review_report(s, "PK-JP", now=prt.now())
    assert report["totals"]["refused_attempts"] == 1 and report["totals"]["open_reviews"] == 1


def test_cli_report(prt, actors, clock):
    from typer.testing import CliRunner

    from engine.cli import app

    cn = _reviewed(prt, actors, clock, "major_other")
    decide(prt, actors, cn, clock, assembly=False)
    r = CliRunner()
    out = r.invoke(app, ["--db", prt.url, "report", "prior-review", "--street", "PK-JP", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["totals"]["compliance_pct"] == "100%" and data["totals"]["cases"] == 1
    text = r.invoke(app, ["--db", prt.url, "report", "prior-review", "--street", "PK-JP", "--from", "2026-11-01",
                          "--to", "2026-11-30"]).output
    assert "合规率 100%" in text and "明发滨江新城小区" in text
    bad = r.invoke(app, ["--db", prt.url, "report", "prior-review", "--street", "PK-JP", "--from", "2026-13-01"])
    assert bad.exit_code == 2
    unknown = r.invoke(app, ["--db", prt.url, "report", "prior-review", "--street", "NOPE"])
    assert unknown.exit_code == 2 and "不存在" in unknown.output
    empty = r.invoke(app, ["--db", prt.url, "report", "prior-review", "--street", "PK-JP", "--from", "2027-01-01"])
    assert empty.exit_code == 0 and "案件 0 件" in empty.output


def test_dashboard_indicators(prt, actors, clock):
    cn = _reviewed(prt, actors, clock, "major_other")
    decide(prt, actors, cn, clock, assembly=False)
    with prt.uow() as s:
        report = prior_review_report(s, "PK-JP", now=prt.now())
    ind = {i["key"]: i for i in report["indicators"]}
    assert ind["compliance"]["value"] == 1.0 and ind["compliance"]["met"] is True
    assert ind["reviews_on_time"]["display"] == "100%"
    assert report["overview"]["先议合规率"] == "100%"


def test_dashboard_page_shows_full_compliance(prt, actors, clock):
    from fastapi.testclient import TestClient

    from engine.web.app import create_app
    from tests.web.support import seed_demo

    cn = _reviewed(prt, actors, clock, "common_income")
    decide(prt, actors, cn, clock, assembly=False)
    seed_demo(prt)
    client = TestClient(create_app(prt.settings, clock))
    assert client.post("/api/session", json={"username": "street", "password": "hongwu-demo"}).status_code == 200
    page = client.get("/dashboard/PK-JP?date_from=2026-01-01&date_to=2026-12-31")
    assert page.status_code == 200
    assert "先议合规率（决定前经党支部先议）" in page.text and "100%" in page.text


def test_catalogue_switch_offs_and_removals_are_deviations_with_who_and_when(prt, actors, clock):
    import copy

    from engine.domain import prior_review as pr
    from engine.orgs import org_by_code
    from engine.processes.prior_review import save_catalogue
    from engine.reports.prior_review import format_text

    def save(value, who):
        with prt.uow() as s:
            save_catalogue(s, org_by_code(s, "PK-JP"), value, actors[who], prt.now())

    v1 = pr.default_setting()
    pr.find_matter(v1, "working_funds")["enabled"] = False
    save(v1, "street")
    clock.advance(days=1)
    v2 = copy.deepcopy(v1)
    v2["matters"] = [m for m in v2["matters"] if m["code"] != "major_other"]
    save(v2, "admin")
    clock.advance(days=1)
    v3 = copy.deepcopy(v2)
    pr.find_matter(v3, "working_funds")["enabled"] = True  # switched back on: the v1 deviation is over
    pr.find_matter(v3, "fund_use")["review_days"] = 7  # an edit that is no deviation
    save(v3, "street")
    with prt.uow() as s:
        report = prior_review_report(s, "PK-JP", now=prt.now())
        before = prior_review_report(s, "PK-JP", date_to=date(2026, 11, 21), now=prt.now())
    got = [(d["version"], d["code"], d["change"], d["by"], d["in_force"]) for d in report["catalogue_deviations"]]
    assert got == [(1, "working_funds", "switched_off", "street", False), (2, "major_other", "removed", "admin", True)]
    assert report["catalogue_deviations"][1]["at"].startswith("2026-11-22")
    assert report["overview"]["目录偏离（停用或删除事项，次）"] == 2
    assert [d["version"] for d in before["catalogue_deviations"]] == [1]  # only what had happened by then
    text = format_text(report)
    assert "目录偏离：江浦街道 第2版删除" in text and "admin 于 2026-11-22" in text and "已恢复" in text
    # The change itself says so in the catalogue's audit chain.
    from sqlalchemy import select

    from engine.db.models import AuditEvent

    with prt.uow() as s:
        notes = [json.loads(d) for d in s.scalars(select(AuditEvent.detail).where(
            AuditEvent.chain == "setting:prior_review_catalogue:PK-JP").order_by(AuditEvent.seq))]
    assert [[(x["code"], x["change"]) for x in n.get("deviations", [])] for n in notes] == [
        [("working_funds", "switched_off")], [("major_other", "removed")], []]
