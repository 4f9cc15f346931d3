"""The prior-review invariants: pure checks at their edges, and a change that would break one is
refused on save (here: a classification rule gone wrong), audited, and leaves the case as it was."""
from __future__ import annotations

import pytest

from engine.domain import prior_review as pr
from engine.runtime import invariants as inv
from tests.prior_review.support import events, submission, task_named

C, P, R, D = pr.CLASSIFIED, pr.UNLISTED_PROPOSED, pr.REVIEW_RECORDED, pr.DECISION_RECORDED


def ev(*pairs):
    return [{"action": a, "detail": d} for a, d in pairs]


def test_declared_for_the_process():
    assert [i.code for i in inv.declared("prior_review")] == [
        "review_before_decision", "items_3_to_8_listed", "unlisted_confirmed_by_branch", "owners_vote_recorded"]


def test_review_before_decision():
    ok = ev((C, {"listed": True, "art278_item": 4}), (R, {"outcome": "agree"}), (D, {"path": "assembly"}))
    assert pr.decisions_follow_review({}, ok) is None
    assert pr.decisions_follow_review({}, ev((C, {"listed": True}), (D, {}))) is not None
    assert pr.decisions_follow_review({}, ev((C, {"listed": True}), (R, {"outcome": "agree_with_changes"}),
                                             (D, {}))) is not None
    # an agree of an earlier round does not cover a resubmission
    assert pr.decisions_follow_review({}, ev((C, {"listed": True}), (R, {"outcome": "agree"}),
                                             (C, {"listed": True}), (D, {}))) is not None
    # a proposal the branch has not confirmed is no classification
    assert pr.decisions_follow_review({}, ev((P, {"art278_item": 9}), (D, {}))) is not None
    confirmed = {"listed": False, "matter_code": pr.UNLISTED, "confirmed_by": "branch", "art278_item": 9}
    assert pr.decisions_follow_review({}, ev((P, {}), (C, confirmed), (D, {"path": "committee"}))) is None


@pytest.mark.parametrize("item", range(1, 10))
def test_items_3_to_8_listed_at_each_item(item):
    unlisted = {"art278_item": item, "listed": False}
    expected_broken = item in range(3, 9)
    assert (pr.items_3_to_8_listed({"classification": unlisted}, []) is not None) is expected_broken
    assert (pr.items_3_to_8_listed({"case_summary": unlisted}, []) is not None) is expected_broken
    assert (pr.items_3_to_8_listed({}, ev((C, unlisted))) is not None) is expected_broken
    assert pr.items_3_to_8_listed({"classification": {"art278_item": item, "listed": True}}, []) is None


def test_unlisted_only_by_the_branch():
    assert pr.unlisted_only_by_the_branch({}, ev((C, {"matter_code": pr.UNLISTED, "listed": False}))) is not None
    assert pr.unlisted_only_by_the_branch({}, ev((C, {"matter_code": pr.UNLISTED, "confirmed_by": "b"}))) is None
    assert pr.unlisted_only_by_the_branch({}, ev((C, {"matter_code": "working_funds", "listed": False}))) is None


def test_owners_vote_recorded():
    item4 = {"listed": True, "art278_item": 4, "assembly_vote": True}
    agreed = [(C, item4), (R, {"outcome": "agree"})]
    assert pr.owners_vote_recorded({}, ev(*agreed, (D, {"path": "assembly", "quorum_met": True}))) is None
    assert pr.owners_vote_recorded({}, ev(*agreed, (D, {"path": "committee"}))) is not None
    assert pr.owners_vote_recorded({}, ev(*agreed, (D, {"path": "assembly"}))) is not None  # no count
    item9 = {"listed": True, "art278_item": 9, "assembly_vote": False}
    assert pr.owners_vote_recorded({}, ev((C, item9), (R, {"outcome": "agree"}), (D, {"path": "committee"}))) is None
    summary = {"decision": "committee", "art278_item": 2, "assembly_vote": False}
    assert pr.owners_vote_recorded({"case_summary": summary}, []) is not None
    assert pr.owners_vote_recorded({"case_summary": {**summary, "art278_item": 9}}, []) is None


def test_a_classification_rule_gone_wrong_is_refused_on_save_and_audited(prt, actors, monkeypatch):
    """Were the catalogue rule ever to call an item 4 matter unlisted, the save refuses it."""
    real = pr.classify

    def broken(setting, code, **kw):
        c = real(setting, code, **kw)
        return pr.Classification(**{**c.__dict__, "listed": False})

    monkeypatch.setattr(pr, "classify", broken)
    cn = prt.start_case("prior_review", "PK-JP-XC-01", actors["community"]).case_number
    tid = task_named(prt, cn, actors["community"], "submit")
    version = prt.get_case(cn, actors["community"]).version
    with pytest.raises(inv.InvariantViolated) as err:
        prt.complete_task(tid, actors["community"], submission("property_company"))
    assert "第4项" in err.value.message_zh and err.value.details[0]["code"] == "items_3_to_8_listed"
    view = prt.get_case(cn, actors["community"])
    assert view.version == version and [t["name"] for t in view.tasks] == ["submit"]
    assert [a for a, _ in events(prt, cn)][-1] == "refused:complete_task"
    assert pr.CLASSIFIED not in [a for a, _ in events(prt, cn)]  # the service's event rolled back too
    monkeypatch.setattr(pr, "classify", real)
    view = prt.complete_task(tid, actors["community"], submission("property_company"))
    assert [t["name"] for t in view.tasks] == ["branch_review"]
