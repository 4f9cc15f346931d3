"""The case page speaks Chinese: summary keys and coded values of the real processes, and the audit
actions they write, are labelled (raw action names stay visible for auditors)."""
from __future__ import annotations

import html
import re
from pathlib import Path

from engine.attachments import reference, store_attachment
from engine.runtime.actors import load_actor
from engine.runtime.service import deploy
from engine.web.labels import action_zh, display, summary_rows
from tests.web.support import logged_in

ROOT = Path(__file__).resolve().parents[2]
COMPOUND = "PK-JP-XC-01"
ROLL = ("unit_id,owner_id,owner_name,area_m2\n" + "".join(f"U{i},O{i},业主{i},100.00\n" for i in range(1, 10)))


def _actor(rt, username):
    with rt.uow() as s:
        return load_actor(s, username)


def _do(rt, case_number, username, name, data):
    actor = _actor(rt, username)
    task = [t for t in rt.list_tasks(actor, process_key="committee_election")
            if t.case_number == case_number and t.name == name]
    assert task, f"{username} has no task {name}"
    return rt.complete_task(task[0].id, actor, data)


def _committee_case_with_reviewed_candidates(rt) -> str:
    deploy(rt, [ROOT / "bpmn" / "committee_election.bpmn"], ROOT / "forms")
    cn = rt.start_case("committee_election", COMPOUND, _actor(rt, "street"), {}).case_number
    _do(rt, cn, "street", "open_case", {"case": {"election_kind": "first", "seats": 5, "term_years": 5}})
    _do(rt, cn, "street", "form_group", {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "业主1", "kind": "owner", "position": "副组长"},
        {"name": "业主2", "kind": "owner", "position": "成员"}, {"name": "业主3", "kind": "owner", "position": "成员"},
        {"name": "业主4", "kind": "owner", "position": "成员"}]}})
    with rt.uow() as s:
        roll = reference(store_attachment(s, filename="roll.csv", content=ROLL.encode(), actor="street", now=rt.now()))
    _do(rt, cn, "street", "confirm_roll", {"roll": {"file": roll, "inspection_place": "小区物业服务中心"}})
    _do(rt, cn, "street", "meeting_plan", {"meeting": {
        "meeting_name": "首次业主大会会议", "meeting_date": "2026-12-20", "meeting_time": "上午9:00至11:30",
        "place": "小区会所", "form": "书面征求意见"}})
    ids = [f"C{i}" for i in range(1, 6)]
    _do(rt, cn, "street", "nominate", {"candidates": [
        {"candidate_id": c, "owner_id": f"O{i}", "name": f"业主{i}", "party_member": i <= 3, "gender": "男",
         "units": f"U{i}", "intro": "业主", "facts": {}} for i, c in enumerate(ids, start=1)]})
    _do(rt, cn, "cparty", "community_review", {"community_decisions": [
        {"candidate_id": c, "approve": True, "reason": ""} for c in ids]})
    _do(rt, cn, "sparty", "street_review", {"street_decisions": [{"candidate_id": c, "approve": True} for c in ids]})
    return cn


def test_committee_case_page_shows_chinese_summary(app, web_rt):
    cn = _committee_case_with_reviewed_candidates(web_rt)
    summary = web_rt.get_case(cn, _actor(web_rt, "street")).summary
    assert summary["approved_candidates"] == 5 and summary["kind"] == "first" and summary["party_majority"] is True
    page = logged_in(app, "street").get(f"/cases/{cn}").text
    block = html.unescape(page.split('id="case-summary"', 1)[1].split("</section>", 1)[0])
    assert "席位数" in block and "审查通过的候选人人数" in block and "首次选举" in block
    assert "候选人党员过半数</dt><dd>是" in block and "任期</dt><dd>5 年" in block
    visible = _visible(block)  # the raw keys remain only in `title` attributes, for auditors
    for raw in ("approved_candidates", "party_majority", "term_years", "first", "True", "{", "["):
        assert raw not in visible, raw


def _visible(fragment: str) -> str:
    return re.sub(r"<[^>]*>", " ", fragment)


def test_prior_review_history_uses_chinese_labels(app, web_rt):
    from tests.prior_review.support import deploy_prior_review, start

    deploy_prior_review(web_rt)
    actors = {u: _actor(web_rt, u) for u in ("community", "branch")}
    cn = start(web_rt, actors, "fund_use")
    page = html.unescape(logged_in(app, "street").get(f"/cases/{cn}").text)
    history = page.split('id="history"', 1)[1]
    assert "事项分类（是否须党组织先议）：列入先议清单" in history
    assert 'title="prior_review:classified"' in history  # the raw name stays, as a hover title for auditors
    assert ">prior_review:classified<" not in history
    summary = page.split('id="case-summary"', 1)[1].split("</dl>\n", 1)[0]
    assert "列入先议清单</dt><dd>是" in summary and "当前阶段</dt><dd>党组织先议中" in summary


def test_label_fallbacks_and_nested_values():
    rows = summary_rows({"zz_new_field": 3, "seats": 7, "level_results": {"community": "failed"},
                         "escalations": [{"from": "community", "to": "street", "reason": "expired",
                                          "at": "2026-11-21T02:00:00+00:00"}], "accepted": False})
    assert [r["label"] for r in rows] == ["席位数", "升级情况", "予以受理", "各级调解结果", "zz_new_field"]
    assert rows[1]["value"]["items"][0]["pairs"][2:] == [("原因", {"text": "超过期限"}), ("时间", {"text": "2026-11-21 10:00"})]
    assert rows[2]["value"] == {"text": "否"}
    assert rows[3]["value"] == {"pairs": [("社区（一级）", {"text": "调解不成"})]}
    assert display("party_kinds", ["owner", "property_company"]) == {"text": "业主、物业服务企业"}
    assert action_zh("setting_changed") == "修改配置" and action_zh("timer_fired").startswith("期限届满")
    assert action_zh("review_recorded", {"outcome": "agree_with_changes"}) == "记录党组织先议意见：修改后同意"
    assert action_zh("prior_review:decision_recorded", {"path": "committee", "passed": False}) == \
        "记录决定结果：业主委员会决定，未通过"
    assert action_zh("refused:complete_task") == "被拒绝的操作：提交任务" and action_zh("brand_new") == "brand_new"


def test_form_vocabulary_labels_fields_in_their_context():
    from engine.web.labels import Vocabulary, display, key_zh

    forms = {
        "m/intake.schema.json": {"type": "object", "properties": {
            "parties": {"type": "array", "title": "当事人", "items": {"type": "object", "properties": {
                "kind": {"type": "string", "title": "当事人类别",
                         "oneOf": [{"const": "owner", "title": "业主"}, {"const": "tenant", "title": "承租人"}]}}}},
            "mode": {"type": "string", "title": "方式"}},
            "if": {"properties": {"mode": {"const": "x"}}}, "then": {"properties": {"extra": {"title": "补充说明"}}}},
        "c/group.schema.json": {"type": "object", "properties": {"members": {"type": "array", "items": {
            "type": "object", "properties": {"kind": {"type": "string", "title": "身份", "enum": ["owner", "street"],
                                                      "x-enumNames": ["业主代表", "街道办事处代表"]}}}}}},
        "c/group.ui.json": {"members": {"items": {"role": {"ui:enum": ["a"], "ui:enumNames": ["甲"]}}}},
    }
    vocab = Vocabulary.of_forms(forms)
    assert key_zh("kind", vocab, "parties") == "当事人类别" and key_zh("kind", vocab, "members") == "身份"
    assert key_zh("extra", vocab) == "补充说明"  # a field of a conditional branch
    assert display("parties", [{"kind": "tenant"}], vocab) == {"items": [{"pairs": [("当事人类别", {"text": "承租人"})]}]}
    assert display("members", [{"kind": "owner"}], vocab) == {"items": [{"pairs": [("身份", {"text": "业主代表"})]}]}
    assert display("members", [{"role": "a"}], vocab)["items"][0]["pairs"][0][1] == {"text": "甲"}
    # Data keys of the runtime come before the summary's: `parties` of the data is a list of people.
    assert key_zh("parties", vocab) == "当事人" and key_zh("parties") == "当事人数"
