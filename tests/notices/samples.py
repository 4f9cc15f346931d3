"""A realistic context for every notice kind (also the examples docs_templates/README.md cites).
Each is issued without a case, so each names its issuer."""
from __future__ import annotations

ISSUER = "江浦街道办事处"
COMPOUND = "明发滨江新城小区"

_PARTIES = [
    {"role": "甲方", "name": "欧阳明", "gender": "男", "age": 46, "id_number": "320111198001011234",
     "address": "明发滨江新城小区3幢1单元502室", "phone": "13800000001"},
    {"role": "乙方", "name": "南京安居物业服务有限公司", "gender": "", "age": "", "id_number": "91320111MA1XXXXX0K",
     "address": "南京市浦口区江浦街道文德路8号", "phone": "025-58000000"},
]

SAMPLES: dict[str, dict] = {
    "preparatory_group_list": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND,
        "members": [
            {"name": "王建国", "position": "组长", "affiliation": "江浦街道办事处"},
            {"name": "李秀兰", "position": "副组长", "affiliation": "新城社区居民委员会"},
            {"name": "陈志强", "position": "成员", "affiliation": "小区党支部书记"},
            {"name": "赵丽华", "position": "成员", "affiliation": "业主代表（5幢2单元301室）"},
            {"name": "钱卫东", "position": "成员", "affiliation": "建设单位代表"},
        ],
        "publicity_start": "2026-11-22", "publicity_end": "2026-11-28",
    },
    "owner_roll_publicity": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND, "owner_count": 1286,
        "total_area": 128456.37, "inspection_place": "小区物业服务中心一楼会议室（工作日9:00—17:00）",
        "publicity_start": "2026-11-22", "publicity_end": "2026-11-28",
        "owners": [{"name": "孙晓燕", "units": ["1幢101室"], "area": 98.5},
                   {"name": "周海峰", "units": ["1幢102室", "地下车位B-12"], "area": 121.07}],
    },
    "meeting_plan_notice": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND, "meeting_name": "首次业主大会会议",
        "meeting_date": "2026-12-12", "meeting_time": "上午9:00至11:30（书面投票期为2026年12月12日至12月26日）",
        "place": "小区南门广场", "form": "集体讨论与书面征求意见相结合",
        "agenda": ["审议《管理规约》", "审议《业主大会议事规则》", "选举产生第一届业主委员会"],
        "voting_rules": ["由专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决",
                         "经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意"],
    },
    "candidate_list_publicity": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND, "seats": 5,
        "candidates": [
            {"name": "司马光明", "gender": "男", "units": ["2幢1001室"], "intro": "中共党员，退休教师"},
            {"name": "上官婉清", "gender": "女", "units": ["6幢302室"], "intro": "会计师，热心公益"},
            {"name": "吴德勇", "gender": "男", "units": ["9幢1502室"], "intro": "退役军人"},
        ],
        "publicity_start": "2026-11-22", "publicity_end": "2026-11-28",
    },
    "ballot": {
        "issuer": ISSUER, "compound_name": COMPOUND, "vote_title": "第一届业主委员会选举", "mode": "election",
        "items": ["司马光明", "上官婉清", "吴德勇"],
        "ballots": [{"owner_name": "孙晓燕", "units": ["1幢101室"], "area": 98.5},
                    {"owner_name": "周海峰", "units": ["1幢102室", "地下车位B-12"], "area": 121.07}],
        "instructions": ["每位候选人只能在“同意”“反对”“弃权”中选择一项，在对应方框内划“√”",
                         "多选、未选或无法辨认的视为弃权", "委托他人投票的，须附授权委托书"],
        "deadline": "2026-12-26T09:30:00+00:00", "ballot_box": "小区物业服务中心投票箱",
    },
    "election_result": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND, "meeting_name": "首次业主大会会议",
        "elected": [{"name": "司马光明", "position": "主任", "agree_owners": 902, "agree_area": 90311.2},
                    {"name": "上官婉清", "position": "副主任", "agree_owners": 877, "agree_area": 88012.5}],
        "participating_owners": 1003, "participating_area": 99876.4, "total_owners": 1286, "total_area": 128456.37,
        "alternates": [{"name": "吴德勇"}], "publicity_end": "2026-12-31",
    },
    "count_sheet": {
        "issuer": ISSUER, "compound_name": COMPOUND, "vote_title": "首次业主大会会议", "round": 1,
        "total_owners": 1286, "total_area": 128456.37, "participating_owners": 1003, "participating_area": 99876.4,
        "quorum_met": True, "threshold_zh": "过半数",
        "register": {"issued": 1288, "delivered": 1270, "returned": 1003, "void": 2},
        "rows": [{"label": "司马光明（C1）", "agree_owners": 902, "agree_area": 90311.2, "disagree_owners": 51,
                  "disagree_area": 5012.3, "abstain_owners": 50, "abstain_area": 4552.9, "outcome": "当选"},
                 {"label": "上官婉清（C2）", "agree_owners": 400, "agree_area": 40012.5, "disagree_owners": 503,
                  "disagree_area": 50001.2, "abstain_owners": 100, "abstain_area": 9862.7, "outcome": "未当选"}],
        "invalid": [{"code": "7F3K2M9Q-15", "reason": "多选"}, {"code": "7F3K2M9Q-88", "reason": "未签名"}],
        "duplicates": [{"code": "7F3K2M9Q-102", "reason": "重复投票：网上投票已先行记录，纸质票另列不计"}],
        "scrutineers": ["王建国", "李秀兰", "陈志强"],
    },
    "committee_filing": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND,
        "members": [{"name": "司马光明", "position": "主任"}, {"name": "上官婉清", "position": "副主任"}],
        "term_start": "2027-01-05", "term_end": "2032-01-04", "filing_number": "江浦业备〔2027〕1号",
        "office_address": "小区会所二楼", "contact_phone": "025-58001234",
    },
    "party_branch_opinion": {
        "issuer": ISSUER, "compound_name": COMPOUND, "branch_name": "中共明发滨江新城小区支部委员会",
        "matter": "使用专项维修资金更换3幢电梯", "meeting_date": "2026-11-20",
        "opinion": ["该事项属于《先议事项清单》第5项，程序符合规定", "维修方案经两家单位询价，价格合理"],
        "conclusion": "同意提交业主大会表决", "attendees": ["陈志强", "刘芳", "黄伟"],
    },
    "assembly_vote_notice": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND, "matter": "使用专项维修资金更换3幢电梯",
        "items": ["同意使用专项维修资金48.6万元更换3幢1号、2号电梯", "同意由南京某电梯工程有限公司承接施工"],
        "form": "书面征求意见", "vote_start": "2026-12-01T01:00:00+00:00", "vote_end": "2026-12-15T09:00:00+00:00",
        "place": "小区物业服务中心投票箱", "voting_rules": ["双三分之二参与、参与者双四分之三同意"],
    },
    "assembly_vote_result": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND, "matter": "使用专项维修资金更换3幢电梯",
        "results": [{"text": "更换3幢电梯", "agree_owners": 820, "agree_area": 83000.5, "disagree_owners": 40,
                     "disagree_area": 3990.1, "abstain_owners": 12, "abstain_area": 1200.0, "passed": True,
                     "rule": "参与表决专有部分面积四分之三以上且人数四分之三以上同意"}],
        "participating_owners": 872, "participating_area": 88190.6, "total_owners": 1286, "total_area": 128456.37,
    },
    "execution_publicity": {
        "issuer": ISSUER, "recipient": "各位业主：", "compound_name": COMPOUND, "matter": "专项维修资金使用（3幢电梯更换）",
        "entries": [{"date": "2027-01-10", "item": "电梯设备款（首付）", "amount": 243000, "note": "合同价50%"},
                    {"date": "2027-03-02", "item": "安装及验收", "amount": 218700, "note": ""}],
        "total_amount": 461700, "publicity_start": "2027-03-05", "publicity_end": "2027-03-11",
        "decision_ref": "2026年12月15日业主大会表决结果",
    },
    "mediation_acceptance": {
        "issuer": ISSUER, "recipient_name": "欧阳明", "applicant": "欧阳明", "respondent": "南京安居物业服务有限公司",
        "matter": "物业服务质量", "accepted_on": "2026-11-21", "mediator": "孙调解员",
        "mediation_deadline": "2026-12-21", "committee_name": "江浦街道人民调解委员会", "place": "新城社区调解室",
    },
    "mediation_agreement": {
        "issuer": ISSUER, "committee_name": "江浦街道人民调解委员会", "agreement_no": "江浦调〔2026〕12号",
        "parties": _PARTIES,
        "facts": "甲方所住3幢电梯自2026年9月起多次故障停运，甲方以此为由拒交2026年第四季度物业费。",
        "disputed_matters": "物业服务是否符合合同约定；甲方应否缴纳第四季度物业费及金额。",
        "responsibilities": "乙方未按合同约定及时维修电梯，负主要责任；甲方以拒交物业费方式维权不当，负次要责任。",
        "terms": ["乙方于2026年12月10日前完成3幢电梯维修并通过特种设备检验", "甲方缴纳第四季度物业费的80%，计人民币936元"],
        "performance_manner": "乙方组织维修并书面告知甲方；甲方通过物业服务中心缴费",
        "performance_deadline": "2026-12-20", "mediator": "孙调解员",
    },
    "litigation_referral": {
        "issuer": ISSUER, "recipient_name": "欧阳明", "matter": "物业服务合同", "reason": "调解期限届满未能达成协议",
        "court": "南京市浦口区人民法院", "ended_on": "2026-12-21", "arbitration": "南京仲裁委员会",
        "legal_aid": "浦口区法律援助中心 12348",
    },
    "judicial_confirmation_reminder": {
        "issuer": ISSUER, "recipient_name": "欧阳明", "agreement_date": "2026-11-30", "court": "南京市浦口区人民法院",
        "apply_by": "2026-12-30", "agreement_no": "江浦调〔2026〕12号",
    },
}
