"""Long data for every notice kind: a 40-character compound name (and an issuer named after it,
so the issuer mark must be compressed), 11 candidates and members, a long mediation agreement,
many owners. The layout and wording tests render each kind with SAMPLES and with these."""
from __future__ import annotations

from .samples import SAMPLES

LONG_COMPOUND = "南京市浦口区江浦街道明发滨江新城三期东区香樟园林景观花园高层住宅小区第二居住组团"[:40]
assert len(LONG_COMPOUND) == 40
LONG_ISSUER = LONG_COMPOUND + "业主委员会"
NAMES = ["司马光明", "上官婉清", "吴德勇", "王建国", "李秀兰", "陈志强", "赵丽华", "钱卫东", "欧阳明", "丁一", "马晓燕"]
SENTENCE = ("经核查，该事项的申请材料齐全，程序符合《物业管理条例》和《业主大会和业主委员会指导规则》的有关规定，"
            "相关费用已按规定公开询价并经业主代表现场监督，")


def _long(kind: str, **changes) -> dict:
    return {**SAMPLES[kind], "compound_name": LONG_COMPOUND, **changes}


LONG: dict[str, dict] = {
    "preparatory_group_list": _long("preparatory_group_list", members=[
        {"name": n, "position": "组长" if i == 0 else "副组长" if i == 1 else "成员",
         "affiliation": f"{LONG_COMPOUND}业主代表（{i + 1}幢）"} for i, n in enumerate(NAMES)]),
    "owner_roll_publicity": _long("owner_roll_publicity", owners=[
        {"name": NAMES[i % 11] + str(i), "units": [f"{i}幢{j}0{i % 9 + 1}室" for j in range(1, 4)], "area": 88.5 + i}
        for i in range(40)]),
    "meeting_plan_notice": _long("meeting_plan_notice", meeting_name=LONG_COMPOUND + "首次业主大会会议",
                                 agenda=[f"审议事项{i}：" + SENTENCE for i in range(1, 7)]),
    "candidate_list_publicity": _long("candidate_list_publicity", seats=11, candidates=[
        {"name": n, "gender": "男" if i % 2 else "女", "units": [f"{i + 1}幢{i + 1}01室"], "intro": "中共党员，" + SENTENCE[:30]}
        for i, n in enumerate(NAMES)]),
    "ballot": _long("ballot", vote_title=LONG_COMPOUND + "第一届业主委员会选举", items=NAMES),
    "election_result": _long("election_result", meeting_name=LONG_COMPOUND + "首次业主大会会议", elected=[
        {"name": n, "position": "委员" if i > 1 else ("副主任" if i == 0 else "主任"), "agree_owners": 900 - i,
         "agree_area": 90000.5 - i} for i, n in enumerate(NAMES)], alternates=[{"name": "黄伟"}, {"name": "刘芳"}]),
    "count_sheet": _long("count_sheet", vote_title=LONG_COMPOUND + "首次业主大会会议", rows=[
        {"label": f"{n}（C{i + 1}）", "agree_owners": 900 - i, "agree_area": 90000.5 - i, "disagree_owners": 50 + i,
         "disagree_area": 5000.25, "abstain_owners": 53, "abstain_area": 4875.65, "outcome": "当选" if i < 7 else "未当选"}
        for i, n in enumerate(NAMES)],
        invalid=[{"code": f"7F3K2M9Q-{i}", "reason": "无法辨认"} for i in range(1, 30)],
        duplicates=[{"code": f"7F3K2M9Q-{i}", "reason": "重复投票：网上投票已先行记录，纸质票另列不计"} for i in range(40, 52)],
        scrutineers=NAMES[:5]),
    "committee_filing": _long("committee_filing", issuer=LONG_ISSUER, members=[
        {"name": n, "position": "委员" if i > 1 else ("副主任" if i == 0 else "主任")} for i, n in enumerate(NAMES)]),
    "party_branch_opinion": _long("party_branch_opinion", issuer=f"中共{LONG_COMPOUND}支部委员会",
                                  branch_name=f"中共{LONG_COMPOUND}支部委员会",
                                  opinion=[SENTENCE * 2 for _ in range(5)]),
    "assembly_vote_notice": _long("assembly_vote_notice", issuer=LONG_ISSUER,
                                  items=[f"事项{i}：" + SENTENCE for i in range(1, 9)]),
    "assembly_vote_result": _long("assembly_vote_result", issuer=LONG_ISSUER, results=[
        {**SAMPLES["assembly_vote_result"]["results"][0], "text": f"事项{i}：{SENTENCE[:40]}"} for i in range(1, 9)]),
    "execution_publicity": _long("execution_publicity", issuer=LONG_ISSUER, entries=[
        {"date": "2027-01-10", "item": f"第{i}笔：{SENTENCE[:24]}", "amount": 1000 * i, "note": ""} for i in range(1, 16)]),
    "mediation_acceptance": _long("mediation_acceptance", matter="物业服务质量及" + SENTENCE[:40]),
    "mediation_agreement": {**SAMPLES["mediation_agreement"], "facts": [SENTENCE * 3] * 4,
                            "disputed_matters": [SENTENCE * 2] * 3, "responsibilities": [SENTENCE * 2] * 3,
                            "terms": [f"{SENTENCE}双方同意按本条约定履行第{i}项义务" for i in range(1, 13)]},
    "litigation_referral": _long("litigation_referral", reason="调解期限届满未能达成协议，" + SENTENCE[:40]),
    "judicial_confirmation_reminder": _long("judicial_confirmation_reminder"),
}

# Kinds the processes declare in their descriptors (NOTICE_KINDS reads them from the registry).
REGISTERED: dict[str, dict] = {
    "committee_decision_result": {
        "issuer": "明发滨江新城小区业主委员会", "recipient": "各位业主：", "compound_name": "明发滨江新城小区",
        "matter": "更换小区门禁系统", "meeting_date": "2026-11-18", "decision_text": "同意更换小区东、西两个出入口的门禁系统。",
        "members_total": 7, "members_present": 6, "members_agree": 5, "passed": True, "rule": "过半数委员同意",
        "review_note": "该事项已经小区党支部先议，同意提交业主委员会决定。"},
}
REGISTERED_LONG: dict[str, dict] = {
    "committee_decision_result": {**REGISTERED["committee_decision_result"], "compound_name": LONG_COMPOUND,
                                  "issuer": LONG_ISSUER, "decision_text": SENTENCE * 8, "review_note": SENTENCE * 3},
}
SHORT_ALL = {**SAMPLES, **REGISTERED}
LONG_ALL = {**LONG, **REGISTERED_LONG}
