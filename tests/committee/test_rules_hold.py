"""The committee election's rules on every route: each bypass of issue 10 tried through the CLI
(and the service layer, the API), refused, audited and changing nothing."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import audit
from engine.db.models import OrgUnit
from engine.domain import committee as committee_rules
from engine.domain import negative_list
from engine.processes.committee import candidates as review_steps
from engine.runtime import invariants as inv
from engine.runtime.errors import RuleRefused, ValidationFailed
from engine.settings_store import put_setting

from .conftest import CANDIDATES, OWNERS, ballots_csv, candidate


def _refusals(rt, case_number):
    with rt.uow() as s:
        return [json.loads(e.detail) for e in audit.chain_events(s, audit.case_chain(case_number))
                if e.action == "refused:complete_task"]


def _complete_via_cli(cli, tmp_path, task_id, user, data, code=0):
    path = tmp_path / f"{task_id}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return cli("task", "complete", task_id, "--as", user, "--data", f"@{path}", code=code)


def _short_first_round(e):
    """Seven nominations for seven seats, C7 (O7 赵磊) screened out: the round comes up short."""
    e.start()
    cands = [candidate(*c) for c in CANDIDATES[:7]]
    cands[6]["facts"] = {"criminal": True}
    e.nominate(cands)
    e.review_all()
    assert e.open_names() == ["nominate"]


# --- 1. identity, not ids ---------------------------------------------------------------------

@pytest.mark.parametrize("cid", ["C7", "C9"])  # the same id, and a fresh one
def test_cli_renominating_an_excluded_owner_is_refused_naming_the_ground(election, cli, tmp_path, runtime, cid):
    e = election
    _short_first_round(e)
    before = e.case().version
    task = e.task("street", "nominate")
    res = _complete_via_cli(cli, tmp_path, task.id, "street",
                            {"candidates": [candidate(cid, "O7", "赵磊", True)]}, code=2)
    assert "正在被刑事立案侦查" in res.stderr and "不得再次提名" in res.stderr
    view = e.case()
    assert view.version == before and e.open_names() == ["nominate"]
    assert "O7" not in {c["owner_id"] for c in view.data["approved_candidates"]}
    refused = _refusals(runtime, e.case_number)
    assert refused[-1]["code"] == "rule_refused" and "正在被刑事立案侦查" in refused[-1]["message_zh"]


def test_an_excluded_owner_under_another_name_and_id_is_the_same_owner(election, runtime):
    e = election
    _short_first_round(e)
    with pytest.raises(RuleRefused):
        e.nominate([candidate("X1", "O7", "赵 磊", False)])
    with pytest.raises(RuleRefused) as err:  # another owner's id is not free either
        e.nominate([candidate("C7", "O8", "黄敏", False)])
    assert "已用于业主 O7" in err.value.message_zh


def test_cli_an_approved_owner_cannot_be_nominated_twice(election, cli, tmp_path):
    e = election
    _short_first_round(e)
    task = e.task("street", "nominate")
    res = _complete_via_cli(cli, tmp_path, task.id, "street", {"candidates": [candidate("C9", "O1", "张伟", True)]},
                            code=2)
    assert "已是审查通过的候选人" in res.stderr


def test_api_renomination_of_an_excluded_owner_is_refused(election, runtime, clock):
    from fastapi.testclient import TestClient
    from sqlalchemy import update

    from engine import demo
    from engine.db.models import User
    from engine.web.app import create_app
    from tests.web.support import demo_hash

    e = election
    _short_first_round(e)
    with runtime.uow() as s:
        s.execute(update(User).where(User.username == "street").values(password_hash=demo_hash()))
    client = TestClient(create_app(runtime.settings, clock))
    login = client.post("/api/session", json={"username": "street", "password": demo.DEMO_PASSWORD}).json()
    task = e.task("street", "nominate")
    r = client.post(f"/api/tasks/{task.id}/complete", headers={"X-CSRF-Token": login["csrf_token"]},
                    json={"data": {"candidates": [candidate("C9", "O7", "赵磊", True)]}})
    assert r.status_code == 422 and "不得再次提名" in r.json()["message_zh"]
    assert e.open_names() == ["nominate"] and _refusals(runtime, e.case_number)[-1]["code"] == "rule_refused"


def test_new_facts_go_to_the_joint_review_with_the_earlier_screening(election, runtime):
    e = election
    _short_first_round(e)
    again = candidate("C9", "O7", "赵磊", True)
    again["reconsideration"] = "原刑事案件已撤销立案，有公安机关撤案决定书"
    e.nominate([again])
    sheet = runtime.get_task(e.task("cparty", "community_review").id, e.actors["cparty"])["data"]["review_sheet"]
    assert [c["candidate_id"] for c in sheet] == ["C9"]
    assert sheet[0]["earlier_screenings"][0]["grounds"] == ["正在被刑事立案侦查，或三年内受过刑事处罚"]
    assert sheet[0]["reconsideration"].startswith("原刑事案件")
    shown = runtime.get_task(e.task("cparty", "community_review").id, e.actors["cparty"])["schema"]["description"]
    assert "曾在本案因负面清单「正在被刑事立案侦查，或三年内受过刑事处罚」被排除（候选人编号 C7" in shown
    assert "新情况说明：原刑事案件已撤销立案" in shown
    with pytest.raises(ValidationFailed) as err:  # approving without saying why is refused
        e.do("cparty", "community_review", {"community_decisions": [{"candidate_id": "C9", "approve": True}]})
    assert "同意其参选须写明依据" in err.value.message_zh
    e.do("cparty", "community_review", {"community_decisions": [
        {"candidate_id": "C9", "approve": True, "reason": "经核实已撤销立案"}]})
    e.do("sparty", "street_review", {"street_decisions": [
        {"candidate_id": "C9", "approve": True, "reason": "同意社区党组织意见"}]})
    d = e.case().data
    c9 = next(c for c in d["approved_candidates"] if c["candidate_id"] == "C9")
    assert c9["reconsidered"] == [0] and d["excluded_candidates"][0]["owner_id"] == "O7"  # kept on record
    assert e.case().summary["excluded_by_negative_list"] == 0


def test_rejected_reconsideration_keeps_the_exclusion(election, runtime):
    e = election
    _short_first_round(e)
    again = candidate("C9", "O7", "赵磊", True)
    again["reconsideration"] = "本人称已结案"
    e.nominate([again, candidate("C8", "O8", "黄敏", False)])
    e.do("cparty", "community_review", {"community_decisions": [
        {"candidate_id": "C9", "approve": False, "reason": "未提供撤案材料"}, {"candidate_id": "C8", "approve": True}]})
    e.do("sparty", "street_review", {"street_decisions": [
        {"candidate_id": "C9", "approve": True, "reason": "请社区核实"}, {"candidate_id": "C8", "approve": True}]})
    d = e.case().data
    assert "C9" not in [c["candidate_id"] for c in d["approved_candidates"]]
    assert e.case().summary["excluded_by_negative_list"] == 1
    assert e.open_names() == ["objections"]  # C8 completed the list; O7 stays barred


# --- 2. ballots and counting only know the issued ballot ----------------------------------------

def _disqualify_c6_then_vote(e, clock):
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES])  # 8 for 7 seats
    e.review_all()
    e.do("street", "objections", {"objection": {"objections": [
        {"candidate_id": "C6", "content": "违法搭建", "upheld": True, "answer": "查证属实",
         "grounds": ["illegal_construction"]}]}})
    assert e.open_names() == ["objections"]  # 7 left: republished
    assert e.advance(clock, 10) == 1 and e.advance(clock, 30) == 1
    assert e.open_names() == ["enter_ballots"]


def test_summary_is_recomputed_when_an_objection_removes_a_candidate(election, clock):
    e = election
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES])
    e.review_all()
    assert e.case().summary["approved_candidates"] == 8 and e.case().summary["party_member_share"] == "5/8"
    e.do("street", "objections", {"objection": {"objections": [
        {"candidate_id": "C1", "content": "违法搭建", "upheld": True, "answer": "查证属实",
         "grounds": ["illegal_construction"]}]}})
    s = e.case().summary
    assert s["approved_candidates"] == 7 and s["party_member_share"] == "4/7" and s["excluded_by_negative_list"] == 1


def test_cli_votes_for_a_disqualified_candidate_are_refused_with_file_line(election, clock, cli, tmp_path, runtime):
    e = election
    _disqualify_c6_then_vote(e, clock)
    items = ["C1", "C2", "C3", "C4", "C5", "C7", "C8"]
    bad = ballots_csv(OWNERS[:8], items) + "O1,C6,同意\nO2,杨帆,同意\n"
    ref = e.upload("b.csv", bad)
    task = e.task("street", "enter_ballots")
    res = _complete_via_cli(cli, tmp_path, task.id, "street", {"ballot_entry": {"file": ref}}, code=2)
    assert "b.csv:58" in res.stderr and "b.csv:59" in res.stderr and "异议查实负面清单情形" in res.stderr
    assert e.open_names() == ["enter_ballots"]
    # Declared invalid, they are set aside and the count says how many and why.
    _complete_via_cli(cli, tmp_path, task.id, "street", {"ballot_entry": {"file": ref, "set_aside_invalid": True}})
    count = e.case().data["count"]
    assert count["set_aside"]["count"] == 2
    assert count["set_aside"]["reasons"] == {"异议查实负面清单情形，已取消候选人资格": 2}
    assert "C6" not in [i["item"] for i in count["tally"]["items"]]
    assert e.case().summary["set_aside_votes"] == 2


def test_a_name_two_ballot_candidates_share_must_be_an_id(election, clock):
    e = election
    e.start()
    cands = [candidate(*c) for c in CANDIDATES[:7]]
    cands[4]["name"] = "王芳"  # C5 and C2 both 王芳
    e.nominate(cands)
    e.review_all()
    e.advance(clock, 10)
    e.advance(clock, 30)
    with pytest.raises(ValidationFailed) as err:
        e.do("street", "enter_ballots", {"ballot_entry": {"file": e.upload("b.csv", "owner_id,item,vote\nO1,王芳,同意\n"),
                                                          "set_aside_invalid": True}})
    assert "b.csv:2" in err.value.details[0]["message_zh"] and "候选人编号" in err.value.details[0]["message_zh"]


def test_tally_cli_counts_only_the_candidates_given(tmp_path):
    from typer.testing import CliRunner

    from engine.cli import app

    roll, ballots = tmp_path / "roll.csv", tmp_path / "b.csv"
    roll.write_text("unit_id,owner_id,owner_name,area_m2\n1,O1,甲,90\n2,O2,乙,100\n3,O3,丙,80\n", encoding="utf-8")
    ballots.write_text("owner_id,item,vote\nO1,C1,同意\nO2,张三,同意\nO3,C9,同意\nO3,C1,同意\n", encoding="utf-8")
    run = CliRunner().invoke
    res = run(app, ["tally", "--roll", str(roll), "--ballots", str(ballots), "--candidates", "C1=张三,C2=李四", "--json"])
    assert res.exit_code == 2 and f"{ballots}:4" in res.stderr and res.stdout == ""
    res = run(app, ["tally", "--roll", str(roll), "--ballots", str(ballots), "--candidates", "C1=张三,C2=李四",
                    "--set-aside", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["set_aside"]["count"] == 1 and [i["item"] for i in d["items"]] == ["C1", "C2"]
    assert run(app, ["tally", "--roll", str(roll), "--ballots", str(ballots), "--set-aside"]).exit_code == 2


# --- 3. limits at the boundary ----------------------------------------------------------------

def test_meeting_date_must_leave_room_for_the_candidate_publicity(election, runtime):
    e = election
    view = runtime.start_case("committee_election", "PK-JP-XC-01", e.actors["street"], {})
    e.case_number = view.case_number
    e.do("street", "open_case", {"case": {"election_kind": "first", "seats": 5, "term_years": 5, "publicity_days": 20}})
    e.do("street", "form_group", {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "甲", "kind": "owner", "position": "成员"},
        {"name": "乙", "kind": "owner", "position": "成员"}]}})
    from .conftest import ROLL
    e.do("street", "confirm_roll", {"roll": {"file": e.upload("roll.csv", ROLL), "inspection_place": "物业中心"}})
    plan = {"meeting_name": "首次业主大会会议", "meeting_time": "9:00", "place": "会所", "form": "集体讨论"}
    from datetime import timedelta

    from engine.domain.periods import period_end

    last = period_end(runtime.now(), days=20, kind="publicity").last_day
    with pytest.raises(ValidationFailed) as err:  # 15 days' notice met; the publicity's last day is not before
        e.do("street", "meeting_plan", {"meeting": {**plan, "meeting_date": last.isoformat()}})
    assert "公示 20 日" in err.value.message_zh and len(err.value.details) == 1
    e.do("street", "meeting_plan", {"meeting": {**plan, "meeting_date": (last + timedelta(days=1)).isoformat()}})


def test_a_late_renomination_must_postpone_the_meeting(election, clock):
    e = election
    _short_first_round(e)
    clock.advance(days=25)  # 12-16: a new 7-day publicity cannot end before the meeting on 12-20
    with pytest.raises(ValidationFailed) as err:
        e.nominate([candidate("C8", "O8", "黄敏", False)])
    assert "会议延期日期" in err.value.message_zh
    e.do("street", "nominate", {"candidates": [candidate("C8", "O8", "黄敏", False)], "new_meeting_date": "2027-01-10"})
    d = e.case().data
    assert d["meeting"]["meeting_date"] == "2027-01-10" and d["meeting_postponements"][0]["from"] == "2026-12-20"


def test_switched_off_grounds_are_not_asked_nor_used(election, runtime):
    e = election
    _short_first_round(e)
    task = e.task("street", "nominate")
    facts = runtime.get_task(task.id, e.actors["street"])["schema"]["properties"]["candidates"]["items"]["properties"]["facts"]
    assert "fee_arrears" not in facts["properties"] and "criminal" in facts["properties"]
    with pytest.raises(RuleRefused) as err:
        e.nominate([candidate("C8", "O8", "黄敏", False, {"fee_arrears": True})])
    assert "已被本街道停用" in err.value.message_zh
    assert _refusals(runtime, e.case_number)[-1]["code"] == "rule_refused"
    with runtime.uow() as s:  # a street that switches it on asks it
        street = s.scalar(select(OrgUnit).where(OrgUnit.code == "PK-JP"))
        put_setting(s, negative_list.SETTING_KEY, street, {"fee_arrears": True}, "admin", runtime.now())
    facts = runtime.get_task(task.id, e.actors["street"])["schema"]["properties"]["candidates"]["items"]["properties"]["facts"]
    assert "fee_arrears" in facts["properties"]


def test_objection_form_offers_only_the_grounds_in_use(election, runtime):
    e = election
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    e.review_all()
    task = e.task("street", "objections")
    schema = runtime.get_task(task.id, e.actors["street"])["schema"]
    grounds = schema["properties"]["objection"]["properties"]["objections"]["items"]["properties"]["grounds"]["items"]
    assert "fee_arrears" not in grounds["enum"] and len(grounds["enum"]) == len(grounds["x-enumNames"])
    with pytest.raises(ValidationFailed) as err:
        e.do("street", "objections", {"objection": {"objections": [
            {"candidate_id": "C2", "content": "欠费", "upheld": True, "answer": "属实", "grounds": ["fee_arrears"]}]}})
    assert "已被本街道停用" in err.value.message_zh
    assert [c["units"] for c in e.case().data["approved_candidates"]][:1] == ["1-101、1-102"]  # from the roll


# --- 4. the invariants, each shown to bite --------------------------------------------------------

def _approved(cid, owner, name="甲", party=True, **extra):
    return {"candidate_id": cid, "owner_id": owner, "name": name, "party_member": party, "roll_units": ["1-101"],
            "screening": {"eligible": True, "matched": []},
            "review": {"community": {"approve": True, "reason": ""}, "street": {"approve": True, "reason": ""}}, **extra}


def _lawful():
    approved = [_approved("C1", "O1"), _approved("C2", "O2", party=False)]
    data = {"approved_candidates": approved, "excluded_candidates": [], "objection_log": [],
            "candidate_owners": {"C1": "O1", "C2": "O2"}, "review_sheet": [],
            "voting": {"items": ["C1", "C2"], "labels": {"C1": "甲", "C2": "甲"}, "round": 1},
            "meeting": {"meeting_date": "2026-12-20"}, "candidate_publicity": {"publicity_end": "2026-12-10"}}
    data["case_summary"] = committee_rules.list_summary(approved, [], [])
    return data


def _broken(code, data):
    return [i.code for i, _m in inv.violations("committee_election", data, [])] == [code]


def test_every_committee_invariant_holds_on_lawful_data_and_bites_alone():
    assert inv.violations("committee_election", _lawful(), []) == []
    legacy = _lawful()  # a case opened before candidates were identified by owner is not stopped
    del legacy["candidate_owners"], legacy["case_summary"]
    for c in legacy["approved_candidates"]:
        del c["roll_units"]
    assert inv.violations("committee_election", legacy, []) == []
    d = _lawful()
    d["excluded_candidates"] = [{"candidate_id": "C9", "owner_id": "O2", "name": "甲", "screening": {"matched": []}}]
    d["case_summary"] = committee_rules.list_summary(d["approved_candidates"], d["excluded_candidates"], [])
    assert {i.code for i, _ in inv.violations("committee_election", d, [])} == {"committee.no_barred_owner_on_list"}
    d = _lawful()
    d["approved_candidates"][1]["review"]["street"]["approve"] = False
    assert _broken("committee.approved_are_screened_roll_owners", d)
    d = _lawful()
    d["approved_candidates"][1]["owner_id"] = "O1"
    d["candidate_owners"]["C2"] = "O1"
    assert _broken("committee.one_candidacy_per_owner", d)
    d = _lawful()
    d["case_summary"]["party_member_share"] = "2/2"
    assert _broken("committee.summary_matches_list", d)
    d = _lawful()
    d["voting"]["items"].append("C6")
    d["voting"]["labels"]["C6"] = "杨帆"
    assert _broken("committee.ballot_lists_approved_only", d)
    d = _lawful()
    d["count"] = {"tally": {"items": [{"item": "C1"}, {"item": "C2"}, {"item": "C6"}]}, "elected": []}
    assert _broken("committee.count_only_ballot_candidates", d)
    d = _lawful()
    d["candidate_publicity"]["publicity_end"] = "2026-12-20"
    assert _broken("committee.publicity_before_meeting", d)


def test_a_service_that_would_break_an_invariant_is_refused_and_audited(election, runtime, monkeypatch):
    e = election
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    def counted_up(ctx, **values):  # the old way: the list changes, its summary is left as it was
        ctx.data.update(values)

    monkeypatch.setattr(review_steps, "_set", counted_up)
    sheet = runtime.get_task(e.task("cparty", "community_review").id, e.actors["cparty"])["data"]["review_sheet"]
    e.do("cparty", "community_review", {"community_decisions": [{"candidate_id": c["candidate_id"], "approve": True}
                                                                for c in sheet]})
    before = e.case().version
    with pytest.raises(inv.InvariantViolated):
        e.do("sparty", "street_review", {"street_decisions": [{"candidate_id": c["candidate_id"], "approve": True}
                                                              for c in sheet]})
    assert e.case().version == before
    assert _refusals(runtime, e.case_number)[-1]["code"] == "invariant_violated"


def test_a_review_that_ends_too_late_for_the_publicity_asks_to_postpone_the_meeting(election, clock, runtime):
    e = election
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    clock.advance(days=25)  # the review ends on 12-16: a 7-day publicity would end after the meeting on 12-20
    e.review_all()
    assert e.open_names() == ["postpone_meeting"]
    with pytest.raises(ValidationFailed) as err:  # still too early
        e.do("street", "postpone_meeting", {"postponement": {"new_meeting_date": "2026-12-22", "reason": "公示期"}})
    assert "公示" in err.value.message_zh
    e.do("street", "postpone_meeting", {"postponement": {"new_meeting_date": "2027-01-10", "reason": "候选人名单公示期"}})
    view = e.case()
    assert e.open_names() == ["objections"] and view.data["meeting"]["meeting_date"] == "2027-01-10"
    assert view.summary["meeting_date"] == "2027-01-10" and view.data["meeting_postponements"][0]["from"] == "2026-12-20"
    assert view.data["candidate_publicity"]["publicity_end"] < "2027-01-10"


def test_cli_a_form_cannot_overwrite_the_case_s_exclusions(election, cli, tmp_path, runtime):
    e = election
    _short_first_round(e)
    before = e.case()
    task = e.task("street", "nominate")
    res = _complete_via_cli(cli, tmp_path, task.id, "street", {
        "candidates": [candidate("C8", "O8", "黄敏", False)], "excluded_candidates": [], "approved_candidates": []},
        code=2)
    assert "「excluded_candidates」不是本表单的字段" in res.stderr
    after = e.case()
    assert after.version == before.version and after.data["excluded_candidates"] == before.data["excluded_candidates"]
    assert _refusals(runtime, e.case_number)[-1]["code"] == "rule_refused"
