"""The invariant mechanism: checked on every save, a violation refuses the change and is audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import audit
from engine.db.models import Case
from engine.runtime import invariants as inv
from tests.engine.support import apply_data


@pytest.fixture
def small_amounts_only():
    """A temporary rule on the sample process: an application may not ask for more than 10,000."""
    saved = dict(inv._REGISTRY)
    inv.invariants("sample_review", inv.Invariant(
        "amount_cap", "申请金额不超过一万元",
        lambda data, events: "申请金额超过一万元" if (data.get("amount") or 0) > 10_000 else None))
    yield
    inv._REGISTRY.clear()
    inv._REGISTRY.update(saved)


def _actions(rt, case_number):
    with rt.uow() as s:
        return [e.action for e in audit.chain_events(s, audit.case_chain(case_number))]


def test_declaring_a_code_twice_is_refused():
    with pytest.raises(ValueError):
        inv.invariants("x_test", inv.Invariant("a", "a", lambda d, e: None), inv.Invariant("a", "a", lambda d, e: None))


def test_a_violating_completion_is_refused_audited_and_changes_nothing(sample, actors, small_amounts_only):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    with pytest.raises(inv.InvariantViolated) as err:
        sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=20_000))
    assert "申请金额超过一万元" in err.value.message_zh and err.value.details[0]["code"] == "amount_cap"
    after = sample.get_case(case.case_number, actors["street"])
    assert after.version == case.version and [t["name"] for t in after.tasks] == ["apply"]
    assert _actions(sample, case.case_number) == ["case_started", "refused:complete_task"]
    # The lawful completion still goes through, and every chain verifies.
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=9_000))
    with sample.uow() as s:
        assert all(r.ok for r in audit.verify(s))


def test_a_violating_start_is_refused_and_leaves_no_case(sample, actors, small_amounts_only):
    with pytest.raises(inv.InvariantViolated):
        sample.start_case("sample_review", "PK-JP-XC-01", actors["street"], {"amount": 50_000})
    with sample.uow() as s:
        assert s.scalars(select(Case)).all() == []


def test_invariants_see_the_chain_when_they_ask_for_it(sample, actors):
    seen = []
    saved = dict(inv._REGISTRY)
    inv.invariants("sample_review", inv.Invariant(
        "spy", "spy", lambda data, events: seen.append([e["action"] for e in events]), needs_events=True))
    try:
        case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
        sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=100))
    finally:
        inv._REGISTRY.clear()
        inv._REGISTRY.update(saved)
    assert seen == [[], ["case_started"]]
