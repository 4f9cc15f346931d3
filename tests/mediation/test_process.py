"""The tiered-mediation process end to end, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from engine.db.models import Document, OrgUnit, Timer
from engine.domain import mediation as rules
from engine.domain.periods import period_end
from engine.runtime.errors import ValidationFailed
from engine.settings_store import put_setting
from tests.mediation.support import (
    AGREEMENT,
    COMPOUND,
    PARTIES,
    SYSTEM,
    assign,
    complete,
    fail,
    open_case,
    session,
    settle,
    sign,
    task,
    tasks,
)

ROLE = {"community": "community_staff", "street": "street_staff", "district": "district_mediator"}


def docs(runtime, case_number) -> dict[str, list[Document]]:
    view = runtime.get_case(case_number, SYSTEM)
    out: dict[str, list[Document]] = {}
    with runtime.uow() as s:
        for d in s.scalars(select(Document).where(Document.case_id == view.id).order_by(Document.id)):
            s.expunge(d)
            out.setdefault(d.kind, []).append(d)
    return out


def pdf_text(doc: Document) -> str:
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(doc.content)).pages)
    return re.sub(r"\s+", "", text)


def summary(runtime, case_number) -> dict:
    return runtime.get_case(case_number, SYSTEM).summary


def timer_due(runtime, case_number):
    view = runtime.get_case(case_number, SYSTEM)
    with runtime.uow() as s:
        return sorted(t.due_at for t in s.scalars(select(Timer).where(Timer.case_id == view.id)))


@pytest.mark.parametrize("level", ["community", "street", "district"])
def test_settle_at_each_level(med, actors, clock, level):
    case = open_case(med, actors)
    below = rules.LEVELS[:rules.LEVELS.index(level)]
    for lower in below:
        assign(med, actors, case, lower)
        fail(med, actors, case, lower)
    t = task(med, case, f"{level}_assign")
    assert t["role"] == ROLE[level]
    assign(med, actors, case, level)
    complete(med, actors, case, f"{level}_mediate", session("continue"))
    settle(med, actors, case, level)
    sign(med, actors, case, level)

    s = summary(med, case)
    assert s["outcome"] == "settled" and s["settled_level"] == level
    assert s["level_results"] == {**{x: "failed" for x in below}, level: "settled"}
    assert [e["to"] for e in s["escalations"]] == list(rules.LEVELS[1:rules.LEVELS.index(level) + 1])
    kinds = docs(med, case)
    assert {k: len(v) for k, v in kinds.items()} == {
        "mediation_acceptance": 1, "mediation_agreement": 1, "judicial_confirmation_reminder": 1}
    reminder = pdf_text(kinds["judicial_confirmation_reminder"][0])
    apply_by = period_end(clock.now(), days=30, kind="judicial_confirmation").last_day
    assert f"{apply_by.year}年{apply_by.month}月{apply_by.day}日" in reminder and "浦口区人民法院" in reminder

    # The follow-up visit appears only when its day comes, then closes the case.
    assert [t["name"] for t in tasks(med, case)] == []
    clock.advance(days=29)
    med.run_due_timers()
    assert [t["name"] for t in tasks(med, case)] == []
    clock.advance(days=2)
    assert med.run_due_timers() == 1
    visit = task(med, case, "follow_up")
    assert visit["role"] == "community_staff" and visit["due_at"]
    complete(med, actors, case, "follow_up", {"visited_on": clock.now().date().isoformat(), "performance": "fully"})
    view = med.get_case(case, SYSTEM)
    assert view.status == "completed"
    assert view.summary["follow_up"]["performance"] == "fully"


def test_escalation_on_every_deadline(med, actors, clock):
    case = open_case(med, actors)
    opened = clock.now()
    community_due = period_end(opened, days=15, kind="mediation").due_at
    assert timer_due(med, case) == [community_due]
    assert task(med, case, "community_assign")["due_at"] == community_due.isoformat()

    clock.set(community_due - timedelta(minutes=1))
    assert med.run_due_timers() == 0
    clock.set(community_due + timedelta(minutes=1))
    assert med.run_due_timers() == 1
    s = summary(med, case)
    assert s["level_results"] == {"community": "expired"} and s["current_level"] == "street"
    assert s["escalations"] == [{"from": "community", "to": "street", "reason": "expired", "at": clock.now().isoformat()}]
    street_due = period_end(clock.now(), days=15, kind="mediation").due_at
    assign(med, actors, case, "street")
    complete(med, actors, case, "street_mediate", session("continue", on=clock.now().date()))
    assert timer_due(med, case) == [street_due]

    clock.set(street_due + timedelta(hours=1))
    assert med.run_due_timers() == 1
    assert task(med, case, "district_assign")["role"] == "district_mediator"
    district_due = period_end(clock.now(), days=30, kind="mediation").due_at
    assert timer_due(med, case) == [district_due]

    clock.set(district_due + timedelta(hours=1))
    assert med.run_due_timers() == 1
    view = med.get_case(case, SYSTEM)
    assert view.status == "completed" and view.tasks == []
    assert view.summary["outcome"] == "referred"
    assert view.summary["level_results"] == {"community": "expired", "street": "expired", "district": "expired"}
    kinds = docs(med, case)
    assert sorted(kinds) == ["litigation_referral", "mediation_acceptance"]
    assert "调解期限届满" in pdf_text(kinds["litigation_referral"][0])


def test_extension_within_and_beyond_the_cap(med, actors, clock):
    case = open_case(med, actors)
    assign(med, actors, case, "community")
    first_due = period_end(clock.now(), days=15, kind="mediation")
    complete(med, actors, case, "community_mediate",
             session("extend", extension_days=20, extension_reason="双方同意等待业主大会表决", parties_agreed=True))
    extended = period_end(first_due.last_day, days=20, kind="mediation")
    assert timer_due(med, case) == [extended.due_at]
    assert task(med, case, "community_mediate")["due_at"] == extended.due_at.isoformat()
    assert summary(med, case)["extensions"] == [{"level": "community", "days": 20}]

    # A second extension at the same level, or one without the parties' consent, is refused.
    version = med.get_case(case, SYSTEM).version
    for bad, expected in [({"extension_days": 5, "parties_agreed": True}, "已延长过一次"),
                          ({"extension_days": 5, "parties_agreed": False}, "须经各方当事人同意")]:
        with pytest.raises(ValidationFailed) as err:
            complete(med, actors, case, "community_mediate",
                     session("extend", extension_reason="再次延长", **bad))
        assert expected in err.value.message_zh
    assert med.get_case(case, SYSTEM).version == version

    # The original deadline passes without escalation; the extended one still holds.
    clock.set(first_due.due_at + timedelta(days=1))
    assert med.run_due_timers() == 0
    assert task(med, case, "community_mediate")

    fail(med, actors, case, "community")
    assign(med, actors, case, "street")
    for days in (11, 31):
        with pytest.raises(ValidationFailed) as err:
            complete(med, actors, case, "street_mediate",
                     session("extend", on=clock.now().date(), extension_days=days, extension_reason="需要鉴定",
                             parties_agreed=True))
        assert "延长期限累计不得超过 30 日" in err.value.message_zh
        assert err.value.details[0]["field"] == "extension_days"
    street_deadline = period_end(clock.now(), days=15, kind="mediation")
    complete(med, actors, case, "street_mediate",
             session("extend", on=clock.now().date(), extension_days=10, extension_reason="需要鉴定", parties_agreed=True))
    assert timer_due(med, case) == [period_end(street_deadline.last_day, days=10, kind="mediation").due_at]
    assert summary(med, case)["extensions"] == [{"level": "community", "days": 20}, {"level": "street", "days": 10}]


def test_direct_start_at_level_3_needs_a_reason(med, actors):
    view = med.start_case("tiered_mediation", COMPOUND, actors["community"], {})
    complete(med, actors, view.case_number, "register", {
        "source": "grid_member", "category": "maintenance_fund", "parties": PARTIES,
        "facts": "电梯大修动用维修资金，业委会与物业公司对费用分摊争议较大，涉及全体业主。"})
    with pytest.raises(ValidationFailed) as err:
        complete(med, actors, view.case_number, "review", {"accepted": True, "start_level": "district"})
    assert any(d["field"] == "start_level_reason" for d in err.value.details)
    complete(med, actors, view.case_number, "review", {
        "accepted": True, "start_level": "district", "start_level_reason": "涉及全体业主、金额重大的疑难纠纷"})
    t = task(med, view.case_number, "district_assign")
    assert t["role"] == "district_mediator"
    s = summary(med, view.case_number)
    assert s["start_level"] == "district" and s["current_level"] == "district"
    assert s["start_level_reason"] == "涉及全体业主、金额重大的疑难纠纷"
    assert list(s["level_started_at"]) == ["district"]
    # Level 3 runs on its own (30-day) limit.
    assert s["level_due_at"]["district"] == period_end(med.now(), days=30, kind="mediation").iso()


def test_referral_after_level_3_failure(med, actors):
    case = open_case(med, actors, start_level="district", reason="重大疑难")
    assign(med, actors, case, "district")
    fail(med, actors, case, "district")
    view = med.get_case(case, SYSTEM)
    assert view.status == "completed"
    assert view.summary["outcome"] == "referred" and view.summary["level_results"] == {"district": "failed"}
    referral = docs(med, case)["litigation_referral"]
    text = pdf_text(referral[0])
    assert "浦口区人民法院" in text and "双方分歧较大" in text and "张建国" in text


def test_agreement_pdf_has_every_article_29_field(med, actors):
    case = open_case(med, actors)
    assign(med, actors, case, "community", name="李社区")
    settle(med, actors, case, "community")
    agreement = docs(med, case)["mediation_agreement"][0]
    text = pdf_text(agreement)
    p1, p2 = PARTIES
    # Parties' basic facts (name, gender, age, id, address, contact), for each party.
    for value in (p1["name"], "男", "56岁", p1["id_number"], p1["address"], p1["phone"], p2["name"], p2["address"],
                  p2["phone"]):
        assert value in text, value
    # Main facts, matters in dispute, each party's responsibility.
    for field in ("agreement_facts", "disputed_matters", "responsibilities", "performance_manner"):
        assert re.sub(r"\s+", "", AGREEMENT[field]) in text, field
    for term in AGREEMENT["terms"]:
        assert term in text
    # Performance deadline, mediator, committee, signature and seal blocks.
    assert "2026年12月31日" in text
    assert "李社区" in text and "新城社区人民调解委员会" in text
    assert "签名、盖章或按指印" in text and "人民调解员（签名）" in text and "（印章）" in text

    # The signing form lists every party, none signed yet.
    sign_task = med.get_task(task(med, case, "community_sign")["id"], SYSTEM)
    assert sign_task["data"]["party_signatures"] == [
        {"name": p["name"], "signed": False, "method": "signature"} for p in PARTIES]
    assert "（负责人：王经理）" in text  # an organisation party names its representative
    # Signing: every party, the mediator and the committee seal are required.
    with pytest.raises(ValidationFailed) as err:
        sign(med, actors, case, "community",
             party_signatures=[{"name": p1["name"], "signed": True, "method": "fingerprint"}], committee_sealed=False)
    fields = {d["field"] for d in err.value.details}
    assert fields == {"party_signatures", "committee_sealed"}
    assert p2["name"] in err.value.message_zh
    sign(med, actors, case, "community")
    assert summary(med, case)["agreement_signed_on"] == med.now().date().isoformat()


def test_not_accepted(med, actors):
    view = med.start_case("tiered_mediation", COMPOUND, actors["community"], {})
    complete(med, actors, view.case_number, "register", {
        "source": "walk_in", "category": "other", "parties": PARTIES, "facts": "邻里之间的借款纠纷，与物业管理无关。"})
    with pytest.raises(ValidationFailed):
        complete(med, actors, view.case_number, "review", {"accepted": False})
    complete(med, actors, view.case_number, "review", {"accepted": False, "not_accepted_reason": "不属于物业纠纷，已告知向法院起诉"})
    done = med.get_case(view.case_number, SYSTEM)
    assert done.status == "completed"
    assert done.summary["accepted"] is False and done.summary["outcome"] == "not_accepted"


def test_street_setting_changes_the_level_limits(med, actors, clock):
    with med.uow() as s:
        street = s.scalar(select(OrgUnit).where(OrgUnit.code == "PK-JP"))
        put_setting(s, rules.SETTING_KEY, street, {"community": 10, "max_extension_days": 5}, "admin", clock.now())
    case = open_case(med, actors)
    assert timer_due(med, case) == [period_end(clock.now(), days=10, kind="mediation").due_at]
    assign(med, actors, case, "community")
    with pytest.raises(ValidationFailed) as err:
        complete(med, actors, case, "community_mediate",
                 session("extend", extension_days=6, extension_reason="x", parties_agreed=True))
    assert "累计不得超过 5 日" in err.value.message_zh
    # A later change does not move the dates of a case already running (the setting is pinned).
    with med.uow() as s:
        street = s.scalar(select(OrgUnit).where(OrgUnit.code == "PK-JP"))
        put_setting(s, rules.SETTING_KEY, street, {"community": 20}, "admin", clock.now())
    data = med.get_case(case, SYSTEM).data
    assert data["mediation_rules"]["value"]["community"] == 10 and data["mediation_rules"]["version"] == 1


def test_session_date_in_the_future_is_refused(med, actors, clock):
    case = open_case(med, actors)
    assign(med, actors, case, "community")
    with pytest.raises(ValidationFailed) as err:
        complete(med, actors, case, "community_mediate", session("continue", on=date(2027, 1, 1)))
    assert err.value.details[0]["field"] == "session_date"


def test_the_dispute_panel_says_when_no_party_is_registered_yet():
    from engine.processes.mediation import dispute_panel

    parties = next(s for s in dispute_panel(None, None, {}) if s["title"].startswith("当事人"))
    assert parties["table"] is None and parties["notes"] == ["尚未登记当事人（受理登记时填写）"]
    one = {"parties": [{"side": "applicant", "kind": "owner", "name": "甲", "phone": "13800000000"}]}
    parties = next(s for s in dispute_panel(None, None, one) if s["title"].startswith("当事人"))
    assert parties["title"] == "当事人（1 方）" and parties["table"]["rows"][0][2] == "甲" and not parties["notes"]
