"""The matter catalogue as data: defaults, validation, classification, versions pinned by cases."""
from __future__ import annotations

import copy
from datetime import date

import pytest

from engine.domain import prior_review as pr
from engine.runtime.errors import Forbidden, ValidationFailed
from tests.prior_review.support import review, start, task_named

# --- pure rules ----------------------------------------------------------------------------

def test_twelve_defaults_with_items_thresholds_and_deciders():
    value = pr.default_setting()
    assert len(value["matters"]) == 12 and pr.validate_setting(value) == []
    by_code = {m["code"]: m for m in value["matters"]}
    assert [m["no"] for m in value["matters"]] == list(range(1, 13))
    assert all(m["review_days"] == 10 and m["enabled"] for m in value["matters"])
    three_quarters = {c for c, m in by_code.items() if pr.threshold_for_item(m["art278_item"]) == "three_quarters"}
    assert three_quarters == {"fund_raising", "rebuilding", "common_use_change"}
    assert by_code["property_company"]["art278_item"] == 4 and by_code["fund_use"]["art278_item"] == 5
    assert {c for c, m in by_code.items() if not m["assembly_vote"]} == {"common_income", "major_other"}
    value["matters"][0]["name"] = "changed"
    assert pr.default_setting()["matters"][0]["name"] != "changed"  # a fresh copy each time


@pytest.mark.parametrize("item,threshold", [(1, "majority"), (5, "majority"), (6, "three_quarters"),
                                            (7, "three_quarters"), (8, "three_quarters"), (9, "majority")])
def test_threshold_follows_art_278(item, threshold):
    assert pr.threshold_for_item(item) == threshold


@pytest.mark.parametrize("mutate,needle", [
    (lambda v: v["matters"][0].update(review_days=0), "先议期限"),
    (lambda v: v["matters"][0].update(review_days=61), "先议期限"),
    (lambda v: v["matters"][1].update(code=v["matters"][0]["code"]), "重复"),
    (lambda v: v["matters"][0].update(code="Bad Code"), "编码"),
    (lambda v: v["matters"][0].update(code="unlisted"), "编码"),
    (lambda v: v["matters"][0].update(name=" "), "名称"),
    (lambda v: v["matters"][6].update(art278_item=9), "不得改为第9项"),  # fund_raising is item 6 by law
    (lambda v: v["matters"][0].update(enabled="yes"), "是否启用"),
    (lambda v: v["matters"][0].update(extra=1), "未定义的字段"),
    (lambda v: v.update(matters=[]), "不能为空"),
])
def test_validate_setting_names_each_problem_in_both_languages(mutate, needle):
    value = pr.default_setting()
    mutate(value)
    problems = pr.validate_setting(value)
    assert problems and any(needle in p for p in problems)
    assert all(" / " in p for p in problems)


def test_custom_matter_may_be_added_and_not_a_list_is_refused():
    value = pr.default_setting()
    value["matters"].append({"no": 13, "code": "elevator_retrofit", "name": "加装电梯", "art278_item": 7,
                             "assembly_vote": True, "review_days": 15, "enabled": True})
    assert pr.validate_setting(value) == []
    c = pr.classify(value, "elevator_retrofit")
    assert c.listed and c.threshold == "three_quarters" and c.review_days == 15
    assert pr.validate_setting([]) and pr.validate_setting({"matters": "x"})


def test_classify_listed_disabled_unlisted_unknown():
    value = pr.default_setting()
    c = pr.classify(value, "fund_raising")
    assert (c.listed, c.threshold, c.assembly_vote, c.review_days) == (True, "three_quarters", True, 10)
    pr.find_matter(value, "working_funds")["enabled"] = False
    c = pr.classify(value, "working_funds")
    assert not c.listed and c.threshold == "majority" and c.assembly_vote  # off the list, the law still applies
    with pytest.raises(pr.UnknownMatter):
        pr.classify(value, "no_such_matter")


@pytest.mark.parametrize("item, code", [(3, "committee_election"), (4, "property_company"), (5, "fund_use"),
                                        (6, "fund_raising"), (7, "rebuilding"), (8, "common_use_change")])
def test_an_unlisted_proposal_of_items_3_to_8_is_listed_by_the_catalogue(item, code):
    c = pr.classify(pr.default_setting(), pr.UNLISTED, unlisted_item=item, unlisted_assembly_vote=False,
                    unlisted_name="自称非先议")
    assert c.listed and c.matter_code == code and c.proposed_unlisted and not c.awaiting_confirmation
    assert c.assembly_vote and "依目录归入先议事项" in c.reason_zh
    # even on an old catalogue version where the matter was switched off
    old = pr.default_setting()
    pr.find_matter(old, code)["enabled"] = False
    assert pr.classify(old, code).listed
    assert pr.classify(old, pr.UNLISTED, unlisted_item=item).listed


@pytest.mark.parametrize("item", [1, 2, 9])
def test_other_unlisted_proposals_wait_for_the_branch(item):
    c = pr.classify(pr.default_setting(), pr.UNLISTED, unlisted_item=item, unlisted_assembly_vote=False,
                    unlisted_name="外墙广告")
    assert c.awaiting_confirmation and not c.listed and c.matter_name == "外墙广告"
    assert c.assembly_vote is (item != 9)  # items 1–2 always go to the owners' vote
    confirmed = pr.branch_classification(pr.default_setting(), c.as_dict(), pr.CONFIRM_UNLISTED)
    assert not confirmed.listed and not confirmed.awaiting_confirmation
    moved = pr.branch_classification(pr.default_setting(), c.as_dict(), pr.RECLASSIFY, "common_income")
    assert moved.listed and moved.matter_code == "common_income" and "改归" in moved.reason_zh
    with pytest.raises(pr.UnknownMatter):
        pr.branch_classification(pr.default_setting(), c.as_dict(), pr.RECLASSIFY, "nope")
    with pytest.raises(ValueError):  # nothing to confirm twice
        pr.branch_classification(pr.default_setting(), confirmed.as_dict(), pr.CONFIRM_UNLISTED)


def test_an_unlisted_proposal_states_its_item():
    for bad in (None, 0, 10, "4", True):
        with pytest.raises(ValueError):
            pr.classify(pr.default_setting(), pr.UNLISTED, unlisted_item=bad)


def test_items_3_to_8_can_be_neither_switched_off_nor_removed_and_items_1_to_8_need_the_owners_vote():
    for code in ("committee_election", "property_company", "fund_use", "fund_raising", "rebuilding",
                 "common_use_change"):
        off = pr.default_setting()
        pr.find_matter(off, code)["enabled"] = False
        assert any("不得停用" in p for p in pr.validate_setting(off)), code
        gone = pr.default_setting()
        gone["matters"] = [m for m in gone["matters"] if m["code"] != code]
        assert any("不得删除" in p for p in pr.validate_setting(gone)), code
    for code in ("assembly_rules", "service_fees", "working_funds", "common_income", "major_other"):
        off = pr.default_setting()
        pr.find_matter(off, code)["enabled"] = False
        assert pr.validate_setting(off) == [], code  # items 1, 2 and 9 may be switched off
    delegated = pr.default_setting()
    pr.find_matter(delegated, "management_statute")["assembly_vote"] = False
    assert any("须由业主共同决定" in p for p in pr.validate_setting(delegated))
    custom = pr.default_setting()
    custom["matters"].append({"no": 13, "code": "elevator_retrofit", "name": "加装电梯", "art278_item": 7,
                              "assembly_vote": True, "review_days": 15, "enabled": False})
    assert any("不得停用" in p for p in pr.validate_setting(custom))


def test_catalogue_deviations_name_what_was_switched_off_or_removed():
    v1 = pr.default_setting()
    pr.find_matter(v1, "working_funds")["enabled"] = False
    v1["matters"] = [m for m in v1["matters"] if m["code"] != "major_other"]
    assert {(d["code"], d["change"]) for d in pr.catalogue_deviations(None, v1)} == {
        ("working_funds", "switched_off"), ("major_other", "removed")}
    assert pr.catalogue_deviations(v1, v1) == []
    assert pr.catalogue_deviations(v1, pr.default_setting()) == []  # switching back on is no deviation


def test_review_status_only_counts_an_agree_of_the_latest_round():
    C, R = pr.CLASSIFIED, pr.REVIEW_RECORDED
    assert not pr.review_status([]).may_decide
    assert pr.review_status([(C, {"listed": False})]).may_decide
    assert not pr.review_status([(C, {"listed": True})]).may_decide
    assert pr.review_status([(C, {"listed": True}), (R, {"outcome": "agree"})]).may_decide
    assert not pr.review_status([(C, {"listed": True}), (R, {"outcome": "agree_with_changes"})]).may_decide
    assert not pr.review_status([(C, {"listed": True}), (R, {"outcome": "disagree"})]).may_decide
    # agreed, then resubmitted: the new round needs its own review
    assert not pr.review_status([(C, {"listed": True}), (R, {"outcome": "agree"}), (C, {"listed": True})]).may_decide
    assert not pr.review_status([(R, {"outcome": "agree"})]).may_decide  # a review before classification


@pytest.mark.parametrize("total,present,agree,quorum,passed", [
    (7, 4, 4, True, True), (7, 4, 3, True, False), (7, 3, 3, False, False),
    (6, 4, 3, True, True),  # 半数以上 includes exactly half
    (6, 3, 3, False, False),  # 过半数 present: exactly half is not enough
    (5, 5, 2, True, False),
])
def test_committee_vote(total, present, agree, quorum, passed):
    v = pr.committee_vote(total, present, agree)
    assert (v.quorum_met, v.passed) == (quorum, passed)


def test_committee_vote_refuses_impossible_counts():
    for args in ((5, 6, 1), (5, 3, 4), (0, 0, 0), (5, -1, 0)):
        with pytest.raises(ValueError):
            pr.committee_vote(*args)


def test_earliest_vote_start_is_15_days_after_the_notice():
    assert pr.earliest_vote_start(date(2026, 11, 21)) == date(2026, 12, 6)


# --- stored per street, versioned, audited ---------------------------------------------------

def test_street_edits_are_versioned_audited_and_checked(runtime, actors):
    from sqlalchemy import select

    from engine.db.models import AuditEvent
    from engine.orgs import org_by_code
    from engine.processes.prior_review import effective_catalogue, save_catalogue

    with runtime.uow() as s:
        street = org_by_code(s, "PK-JP")
        compound = org_by_code(s, "PK-JP-XC-01")
        assert effective_catalogue(s, compound).version == 0
        v = pr.default_setting()
        pr.find_matter(v, "fund_use")["review_days"] = 5
        first = save_catalogue(s, street, v, actors["street"], runtime.now())
        pr.find_matter(v, "fund_use")["name"] = "使用维修资金（大额）"
        second = save_catalogue(s, street, v, actors["admin"], runtime.now())
        assert (first.version, second.version) == (1, 2)
        cur = effective_catalogue(s, compound)  # the compound inherits the street's catalogue
        assert cur.version == 2 and pr.find_matter(cur.value, "fund_use")["name"] == "使用维修资金（大额）"
        audited = s.scalars(select(AuditEvent).where(AuditEvent.chain == "setting:prior_review_catalogue:PK-JP")).all()
        assert [a.action for a in audited] == ["setting_changed", "setting_changed"]
        bad = copy.deepcopy(v)
        bad["matters"][0]["review_days"] = 0
        with pytest.raises(ValidationFailed):
            save_catalogue(s, street, bad, actors["street"], runtime.now())
        for who in ("community", "branch", "auditor", "community2"):
            with pytest.raises(Forbidden):
                save_catalogue(s, street, v, actors[who], runtime.now())
        with pytest.raises(ValidationFailed):
            save_catalogue(s, org_by_code(s, "PK-JP-XC"), v, actors["street"], runtime.now())
        assert effective_catalogue(s, compound).version == 2


def test_a_running_case_keeps_the_catalogue_version_it_started_on(prt, actors, clock):
    from engine.orgs import org_by_code
    from engine.processes.prior_review import save_catalogue

    def save(value, who="street"):
        with prt.uow() as s:
            return save_catalogue(s, org_by_code(s, "PK-JP"), value, actors[who], prt.now())

    v1 = pr.default_setting()
    pr.find_matter(v1, "fund_use")["review_days"] = 5
    save(v1)
    pr.find_matter(v1, "working_funds")["review_days"] = 5
    save(v1)  # v2: same as v1 but for the working funds' deadline
    early = prt.start_case("prior_review", "PK-JP-XC-01", actors["community"]).case_number  # pins v2
    v3 = copy.deepcopy(v1)
    pr.find_matter(v3, "working_funds")["enabled"] = False
    save(v3)
    # submitted after the street switched the matter off: still classified under v2
    prt.complete_task(task_named(prt, early, actors["community"], "submit"), actors["community"],
                      {"title": "业委会工作经费", "matter_code": "working_funds", "submitter_kind": "owners_committee",
                       "submitter_name": "业委会", "description": "工作经费方案。"})
    view = prt.get_case(early, actors["branch"])
    assert view.summary["listed"] is True and view.summary["catalogue_version"] == 2
    assert [t["name"] for t in view.tasks] == ["branch_review"]
    assert view.tasks[0]["due_at"] == "2026-11-26T16:00:00+00:00"  # v2's 5 days
    later = start(prt, actors, "working_funds")  # pins v3: switched off, no review
    view = prt.get_case(later, actors["community"])
    assert view.summary["listed"] is False and view.summary["catalogue_version"] == 3
    assert [t["name"] for t in view.tasks] == ["arrange_vote"]
    prt.complete_task(task_named(prt, early, actors["branch"], "branch_review"), actors["branch"], review(prt))
    assert [t["name"] for t in prt.get_case(early, actors["community"]).tasks] == ["arrange_vote"]


def test_cli_catalogue_show_edit_toggle_history(runtime, actors):
    import json

    from typer.testing import CliRunner

    from engine.cli import app

    r = CliRunner()
    db = ["--db", runtime.url]
    out = r.invoke(app, [*db, "catalogue", "show", "--street", "PK-JP", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["version"] == 0
    assert r.invoke(app, [*db, "catalogue", "toggle", "common_income", "--street", "PK-JP", "--off",
                          "--as", "street"]).exit_code == 0
    assert r.invoke(app, [*db, "catalogue", "edit", "fund_use", "--street", "PK-JP", "--days", "7",
                          "--name", "大额维修资金使用", "--as", "street"]).exit_code == 0
    bad = r.invoke(app, [*db, "catalogue", "edit", "fund_use", "--street", "PK-JP", "--days", "0", "--as", "street"])
    assert bad.exit_code == 2 and "先议期限" in bad.output
    denied = r.invoke(app, [*db, "catalogue", "toggle", "fund_use", "--street", "PK-JP", "--off", "--as", "branch"])
    assert denied.exit_code == 2 and "无权" in denied.output
    shown = json.loads(r.invoke(app, [*db, "catalogue", "show", "--street", "PK-JP", "--json"]).output)
    assert shown["version"] == 2
    assert pr.find_matter(shown["value"], "common_income")["enabled"] is False
    assert pr.find_matter(shown["value"], "fund_use")["review_days"] == 7
    v1 = json.loads(r.invoke(app, [*db, "catalogue", "show", "--street", "PK-JP", "--version", "1", "--json"]).output)
    assert pr.find_matter(v1["value"], "fund_use")["review_days"] == 10
    hist = json.loads(r.invoke(app, [*db, "catalogue", "history", "--street", "PK-JP", "--json"]).output)
    assert [h["version"] for h in hist] == [1, 2] and hist[0]["created_by"] == "street"
    text = r.invoke(app, [*db, "catalogue", "show", "--street", "PK-JP"]).output
    assert "✘ 10 common_income" in text and "四分之三" in text
