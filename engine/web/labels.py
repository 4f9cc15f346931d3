"""Chinese labels for what the processes store in English: the keys and coded values of a case's
summary (`case_summary`, written by engine/processes/*.py) and the audit actions shown in a case's
history. The stored data stays English (reports and the API read it); only the pages translate.
An unknown key or value falls back to its raw text, so a new field is still shown, just untranslated."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from engine.config import CIVIL_TZ
from engine.domain.mediation import CATEGORIES, LEVEL_ZH, LEVEL_RESULTS, PARTY_KINDS, SOURCES
from engine.domain.prior_review import ART278_ZH

# Summary keys, in the order the page lists them (roughly the order a case produces them).
SUMMARY_ZH: dict[str, str] = {
    # shared
    "title": "议题", "stage": "当前阶段", "outcome": "结果", "round": "轮次",
    # committee_election
    "kind": "选举类型", "opened_on": "立案日期", "seats": "席位数", "term_years": "任期",
    "group_size": "筹备组（换届小组）人数", "units": "房屋套数", "owners": "业主人数", "total_owners": "业主总人数",
    "total_area": "专有部分总面积", "meeting_date": "业主大会会议日期",
    "excluded_by_negative_list": "因负面清单排除人数", "objections": "异议件数",
    "approved_candidates": "审查通过的候选人人数", "party_member_share": "候选人党员占比",
    "party_member_percent": "候选人党员比例", "party_majority": "候选人党员过半数",
    "ballot_rounds": "投票轮次", "participating_owners": "参与表决业主人数", "participating_area": "参与表决专有部分面积",
    "quorum_met": "达到“双三分之二”参与要求", "elected_count": "当选人数", "elected_on": "当选日期",
    "elected_party_member_share": "当选委员党员占比", "elected_party_majority": "当选委员党员过半数",
    "first_meeting_on": "首次会议日期", "first_meeting_overdue": "首次会议逾期",
    "filed_on": "备案日期", "filing_overdue": "备案逾期", "filing_number": "备案编号",
    "term_start": "任期开始", "term_end": "任期届满", "renewal_reminded_on": "换届提醒日期",
    "closed_on": "终止日期", "closed_reason": "终止理由",
    # prior_review
    "catalogue_version": "先议事项目录版本", "catalogue_org": "目录所属组织",
    "matter_code": "事项编码", "matter_name": "事项名称", "listed": "列入先议清单",
    "threshold": "表决通过标准", "assembly_vote": "须业主大会表决", "art278_item": "民法典第二百七十八条事项",
    "submitted_at": "提交时间", "review_started_at": "先议开始时间", "review_due": "先议期限",
    "review_done_at": "先议完成时间", "review_outcome": "先议结论", "reviews": "历次先议",
    "escalations": "升级情况", "escalated_this_round": "本轮已升级督办",
    "decision": "决定方式", "decision_passed": "决定通过", "decided_at": "决定时间",
    "decided_after_review": "先议后决定", "vote_start": "表决开始", "vote_end": "表决截止",
    "executed_at": "执行公示时间", "execution_total": "执行金额合计", "publicity_end": "公示截止", "closed_at": "结案时间",
    # tiered_mediation
    "received_at": "登记时间", "source": "来源", "category": "纠纷类别", "parties": "当事人数",
    "party_kinds": "当事人类型", "external_ref": "外部编号", "accepted": "予以受理", "not_accepted_reason": "不予受理理由",
    "start_level": "受理层级", "start_level_reason": "直接由上级受理的理由", "accepted_at": "受理时间",
    "current_level": "当前层级", "level_started_at": "各级开始时间", "level_due_at": "各级调解期限",
    "level_ended_at": "各级结束时间", "level_results": "各级调解结果", "extensions": "延长调解期限",
    "settled_level": "达成协议的层级", "agreement_signed_on": "协议签订日期",
    "judicial_confirmation_apply_by": "申请司法确认截止日", "follow_up_on": "回访日期（应于）",
    "follow_up": "回访情况", "referred_at": "引导诉讼/仲裁时间", "concluded_at": "结案时间",
}

# Keys that appear only inside nested entries (reviews, escalations, extensions, follow-up).
NESTED_ZH: dict[str, str] = {
    "started_at": "开始", "done_at": "完成", "days": "天数", "overdue": "逾期", "escalated": "已升级督办",
    "level": "层级", "from": "原层级", "to": "升至", "reason": "原因", "at": "时间",
    "visited_on": "回访日期", "performance": "履行情况", "recorded_at": "记录时间",
}

_LEVELS = {k: v.removesuffix("调解") for k, v in LEVEL_ZH.items()}
_OUTCOMES = {
    "closed": "终止", "withdrawn": "撤回", "passed": "通过", "rejected": "未通过",
    "settled": "调解成功", "referred": "引导诉讼/仲裁", "not_accepted": "不予受理",
    "agree": "同意", "agree_with_changes": "修改后同意", "disagree": "不同意", "not_required": "无需先议",
}
# Coded values, per key (inside nested entries too: `outcome` of a review, `from`/`to` of an escalation).
VALUES_ZH: dict[str, dict[Any, str]] = {
    "kind": {"first": "首次选举", "renewal": "换届选举"},
    "outcome": _OUTCOMES, "review_outcome": _OUTCOMES,
    "stage": {"classified": "已分类", "in_review": "党组织先议中", "escalated": "先议超期，已升级督办",
              "deciding": "待决定", "revising": "修改方案", "coordinating": "社区党组织协调中", "voting": "业主大会表决中",
              "executing": "执行中", "publicity": "执行情况公示中", "closed": "已结束"},
    "decision": {"committee": "业主委员会决定", "assembly": "业主大会表决"},
    "threshold": {"majority": "双过半", "three_quarters": "双四分之三"},
    "art278_item": {k: f"第{k}项：{v}" for k, v in ART278_ZH.items()},
    "source": SOURCES, "category": CATEGORIES, "party_kinds": PARTY_KINDS,
    "start_level": _LEVELS, "current_level": _LEVELS, "settled_level": _LEVELS,
    "level": _LEVELS, "from": _LEVELS, "to": _LEVELS,
    "reason": LEVEL_RESULTS, "level_results": LEVEL_RESULTS,
    "performance": {"fully": "已全部履行", "partially": "部分履行", "not_performed": "未履行"},
}
UNITS_ZH = {"term_years": "年", "total_area": "平方米", "participating_area": "平方米", "party_member_percent": "%",
            "days": "天", "execution_total": "元", "units": "套", "group_size": "人", "owners": "人",
            "total_owners": "人", "participating_owners": "人", "approved_candidates": "人", "elected_count": "人",
            "excluded_by_negative_list": "人", "parties": "人"}
# Summary maps keyed by mediation level: their keys are level codes, their values follow the parent key.
BY_LEVEL = {"level_started_at", "level_due_at", "level_ended_at", "level_results"}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

Node = dict[str, Any]  # {"text": str} | {"items": [Node]} | {"pairs": [(label, Node)]}


def key_zh(key: str) -> str:
    return SUMMARY_ZH.get(key) or NESTED_ZH.get(key) or key


def _text(key: str | None, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    coded = VALUES_ZH.get(key or "", {})
    if isinstance(value, (str, int)) and value in coded:
        return coded[value]
    if isinstance(value, str) and _DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return (moment.astimezone(CIVIL_TZ) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M")
    text = str(value)
    unit = UNITS_ZH.get(key or "")
    return f"{text}{'' if unit == '%' else ' '}{unit}" if unit and isinstance(value, (int, float, str)) else text


def display(key: str | None, value: Any) -> Node:
    """One value as a small tree the case page renders without Python or JSON syntax."""
    if isinstance(value, dict):
        if key in BY_LEVEL:
            return {"pairs": [(_LEVELS.get(k, k), display(key, v)) for k, v in value.items()]}
        return {"pairs": [(key_zh(k), display(k, v)) for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        if not value:
            return {"text": "—"}
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return {"text": "、".join(_text(key, v) for v in value)}
        return {"items": [display(key, v) for v in value]}
    return {"text": _text(key, value)}


def summary_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The summary as (key, Chinese label, display tree) rows: known keys in SUMMARY_ZH order, then
    unknown keys alphabetically under their raw names."""
    summary = summary or {}
    order = {k: i for i, k in enumerate(SUMMARY_ZH)}
    keys = sorted(summary, key=lambda k: (order.get(k, len(order)), k))
    return [{"key": k, "label": key_zh(k), "value": display(k, summary[k])} for k in keys]


# --- audit actions --------------------------------------------------------------------------

ACTION_ZH: dict[str, str] = {
    # runtime (engine/runtime/service.py, deploy.py)
    "case_started": "发起案件", "task_completed": "办理完成", "case_completed": "案件办结",
    "timer_fired": "期限届满（系统自动处理）", "definition_deployed": "部署流程定义",
    # documents
    "document_issued": "生成文书", "document_rendered": "生成文书",
    # configuration, tokens, accounts (engine/settings_store.py, engine/tokens.py, engine/web/*)
    "setting_changed": "修改配置", "api_token_created": "创建接口令牌", "api_token_revoked": "吊销接口令牌",
    "user_created": "新建用户", "user_changed": "修改用户", "org_created": "新建组织",
    "login": "登录", "login_failed": "登录失败（密码错误）", "login_refused_locked": "登录被拒绝（账户已锁定）",
    "login_refused_throttled": "登录被暂缓（失败次数过多）", "logout": "退出登录（所有会话失效）",
    "password_changed": "修改密码（其他会话失效）",
    # prior review (engine/processes/prior_review.py, engine/domain/prior_review.py)
    "prior_review:catalogue_pinned": "锁定先议事项目录版本",
    "prior_review:classified": "事项分类（是否须党组织先议）",
    "prior_review:review_not_required": "非先议事项，无需党组织先议",
    "prior_review:review_recorded": "记录党组织先议意见",
    "prior_review:review_overdue": "先议超期，升级督办",
    "prior_review:review_supervised": "督办先议",
    "prior_review:withdrawn": "撤回议题",
    "prior_review:decision_recorded": "记录决定结果",
    "prior_review:vote_scheduled": "安排业主大会表决",
    "prior_review:execution_published": "公示执行情况",
}
REFUSED_ZH = {"complete_task": "提交任务", "open_task": "打开任务"}


def action_zh(action: str, detail: Any = None) -> str:
    """Chinese label of an audit action; for a few prior-review events the detail adds the result."""
    if action.startswith("refused:"):
        return "被拒绝的操作：" + REFUSED_ZH.get(action[8:], action[8:])
    label = ACTION_ZH.get(action) or ACTION_ZH.get(f"prior_review:{action}") or action
    if not isinstance(detail, dict):
        return label
    if action.endswith("review_recorded") and detail.get("outcome") in _OUTCOMES:
        return f"{label}：{_OUTCOMES[detail['outcome']]}"
    if action.endswith("decision_recorded") and "passed" in detail:
        how = VALUES_ZH["decision"].get(detail.get("path"), "")
        return f"{label}：{how}{'，' if how else ''}{'通过' if detail['passed'] else '未通过'}"
    if action.endswith(":classified") and "listed" in detail:
        return f"{label}：{'列入先议清单' if detail['listed'] else '未列入先议清单'}"
    return label
