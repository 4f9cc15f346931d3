"""The tiered-mediation invariants: pure checks at their edges, and a change that would break one
is refused on save (here: a deadline rule gone wrong), audited, and changes nothing."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.domain import mediation as m
from engine.domain.periods import period_end
from engine.runtime import invariants as inv
from tests.mediation.support import SYSTEM, complete, intake_form, tasks

T0 = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # 1 March, 10:00 Beijing


def summary(**kw):
    return {"case_summary": {"accepted": True, "start_level": "community", **kw}}


def test_declared_for_the_process():
    assert [i.code for i in inv.declared("tiered_mediation")] == [
        "levels_in_order", "deadline_within_limit", "one_extension_per_level", "closed_with_agreement_or_referral"]


def test_levels_in_order():
    t = [(T0 + timedelta(days=i)).isoformat() for i in range(3)]
    ok = summary(current_level="street", level_started_at={"community": t[0], "street": t[1]},
                 escalations=[{"from": "community", "to": "street"}])
    assert m.levels_in_order(ok) is None
    assert m.levels_in_order(summary(escalations=[{"from": "community", "to": "district"}])) is not None
    assert m.levels_in_order(summary(escalations=[{"from": "street", "to": "community"}])) is not None
    back = summary(current_level="community", level_started_at={"street": t[0], "community": t[1]})
    assert m.levels_in_order(back) is not None
    below = {"case_summary": {"start_level": "street", "level_started_at": {"community": t[0]}}}
    assert m.levels_in_order(below) is not None
    stale = summary(current_level="community", level_started_at={"community": t[0], "street": t[1]})
    assert m.levels_in_order(stale) is not None


def test_deadline_within_limit_at_its_boundary():
    month_end = period_end(T0, months=1, kind="mediation")  # 1 April 2027, a Thursday
    at = summary(level_started_at={"community": T0.isoformat()}, level_due_at={"community": month_end.iso()})
    assert m.deadlines_within_limit(at) is None
    over = (month_end.due_at + timedelta(days=1)).isoformat()
    late = summary(level_started_at={"community": T0.isoformat()}, level_due_at={"community": over})
    assert "一个月" in m.deadlines_within_limit(late)
    extended = summary(level_started_at={"community": T0.isoformat()}, level_due_at={"community": over},
                       extensions=[{"level": "community", "days": 1}])
    assert m.deadlines_within_limit(extended) is None
    too_many = summary(extensions=[{"level": "community", "days": 20}, {"level": "street", "days": 11}])
    assert "30日" in m.deadlines_within_limit(too_many)
    assert m.deadlines_within_limit(summary(extensions=[{"level": "community", "days": 20},
                                                        {"level": "street", "days": 10}])) is None


def test_one_extension_per_level():
    assert m.one_extension_per_level(summary(extensions=[{"level": "community", "days": 5},
                                                         {"level": "street", "days": 5}])) is None
    assert m.one_extension_per_level(summary(extensions=[{"level": "street", "days": 5},
                                                         {"level": "street", "days": 5}])) is not None
    assert m.one_extension_per_level({"extensions": [{"level": "district"}, {"level": "district"}]}) is not None


def test_closed_with_agreement_or_referral():
    assert m.closed_with_agreement_or_referral(summary()) is None  # still running
    assert m.closed_with_agreement_or_referral({"case_summary": {"accepted": False, "outcome": "not_accepted"}}) is None
    settled = summary(outcome="settled", settled_level="street", level_results={"street": "settled"},
                      agreement_signed_on="2027-03-05", concluded_at=T0.isoformat())
    assert m.closed_with_agreement_or_referral(settled) is None
    unsigned = dict(settled["case_summary"], agreement_signed_on=None)
    assert m.closed_with_agreement_or_referral({"case_summary": unsigned}) is not None
    referred = summary(outcome="referred", referred_at=T0.isoformat(), level_results={"district": "expired"})
    assert m.closed_with_agreement_or_referral(referred) is None
    early = summary(outcome="referred", referred_at=T0.isoformat(), level_results={"community": "failed"})
    assert m.closed_with_agreement_or_referral(early) is not None
    assert m.closed_with_agreement_or_referral(summary(concluded_at=T0.isoformat())) is not None


def test_a_deadline_rule_gone_wrong_is_refused_on_save_and_audited(med, actors, monkeypatch):
    from tests.mediation.support import COMPOUND

    def broken(opened, days):  # forgets the month and counts 45 days
        return period_end(opened, days=45, kind="mediation")

    cn = med.start_case("tiered_mediation", COMPOUND, actors["community"], {}).case_number
    complete(med, actors, cn, "register", intake_form())
    before = med.get_case(cn, SYSTEM)
    monkeypatch.setattr(m, "level_deadline", broken)
    with pytest.raises(inv.InvariantViolated) as err:
        complete(med, actors, cn, "review", {"accepted": True, "start_level": "community"})
    assert err.value.details[0]["code"] == "deadline_within_limit" and "一个月" in err.value.message_zh
    after = med.get_case(cn, SYSTEM)
    assert after.version == before.version and [t["name"] for t in tasks(med, cn)] == ["review"]
    with med.uow() as s:
        from engine import audit

        assert [e.action for e in audit.chain_events(s, audit.case_chain(cn))][-1] == "refused:complete_task"
    monkeypatch.undo()
    complete(med, actors, cn, "review", {"accepted": True, "start_level": "community"})
    assert [t["name"] for t in tasks(med, cn)] == ["community_assign"]
