"""Chinese labels for what the processes store in English: the keys and coded values of a case's
summary (`case_summary`, written by engine/processes/*.py) and of its data (shown in the history's
数据变更), the audit actions and the actors. The stored data stays English (reports and the API
read it); only the pages and the human-readable exports translate.

Data keys are labelled from, in order: the summary's and nested entries' tables below, the keys
the runtime and processes write themselves (DATA_ZH), then the titles and choice titles of the
case's own form schemas (`Vocabulary.of_forms`), so a form field is labelled where it is declared.
An unknown key or value falls back to its raw text, so a new field is still shown, just
untranslated (the English-leak crawl in tests/web/test_chinese.py finds it)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.config import CIVIL_TZ
from engine.domain.mediation import CATEGORIES, LEVEL_RESULTS, LEVEL_ZH, PARTY_KINDS, SOURCES
from engine.domain.prior_review import ART278_ZH, DEFAULT_MATTERS, SUBMITTER_KINDS, UNLISTED
from engine.notices.kinds import NOTICE_KINDS
from engine.runtime import registry

# Process titles and the processes' own labels come from their descriptors (engine/runtime/registry.py).
PROCESS_ZH = registry.derived(registry.titles)

# Summary keys, in the order the page lists them (roughly the order a case produces them): the
# shared ones, then each process's `ProcessDescriptor.data_labels` in registry order.
SHARED_SUMMARY_ZH: dict[str, str] = {"title": "议题", "stage": "当前阶段", "outcome": "结果", "round": "轮次"}
SUMMARY_ZH = registry.derived(lambda: {**SHARED_SUMMARY_ZH, **registry.summary_labels()})

# Keys that appear only inside nested entries (reviews, escalations, extensions, follow-up).
NESTED_ZH: dict[str, str] = {
    "started_at": "开始", "done_at": "完成", "days": "天数", "overdue": "逾期", "escalated": "已升级督办",
    "level": "层级", "from": "原层级", "to": "升至", "reason": "原因", "at": "时间",
    "visited_on": "回访日期", "performance": "履行情况", "recorded_at": "记录时间",
}

# Keys the runtime and the process functions write into a case's data (not declared by any form).
DATA_ZH: dict[str, str] = {
    "case_number": "案件编号", "parties": "当事人", "compound_code": "小区编码", "compound_name": "小区名称", "case_summary": "案件摘要",
    "title": "标题", "name": "姓名/名称", "phone": "电话", "address": "地址", "kind": "类别", "side": "当事方",
    "representative": "代表人", "position": "职务", "members": "成员", "facts": "事实与理由", "claims": "请求事项",
    "description": "说明", "filename": "文件名", "sha256": "SHA-256 校验值", "attachment_id": "附件编号",
    "size": "大小（字节）", "content_type": "文件类型", "file": "文件", "files": "文件", "documents": "文件",
    "document_id": "文书编号", "doc_number": "文号", "verification_code": "核验码", "issuer": "发文机关",
    "candidate_id": "候选人编号", "owner_id": "业主编号", "owner_name": "业主姓名", "unit_id": "房号",
    "candidates": "候选人", "review_sheet": "候选人审查表", "approved_candidates": "审查通过的候选人",
    "rejected": "未通过", "approved": "通过", "approve": "同意", "excluded": "排除", "screening": "负面清单筛查",
    "grounds": "情形", "enabled_grounds": "启用的负面清单情形", "party_member": "党员", "party_share": "党员占比",
    "gender": "性别", "age": "年龄", "intro": "简介", "units": "房屋", "area": "面积（平方米）",
    "elected": "当选", "officers": "主任、副主任", "tally": "计票结果", "results": "结果", "ties": "票数相同",
    "open_seats": "空缺席位", "ballots": "表决票", "ballot_box": "票箱", "agree": "同意", "disagree": "不同意",
    "agree_owners": "同意人数", "agree_area": "同意面积", "disagree_owners": "不同意人数", "disagree_area": "不同意面积",
    "abstain_owners": "弃权人数", "abstain_area": "弃权面积", "returned": "收回", "enough": "达到要求",
    "publicity_start": "公示开始", "publicity_end_at": "公示截止时间", "publicity_due": "公示期限",
    "publicity_days": "公示天数", "voting_days": "表决天数", "vote_title": "表决事项", "vote": "表决",
    "first_meeting_due": "首次会议期限", "first_meeting_last_day": "首次会议最后一日", "filing_due": "备案期限",
    "filing_last_day": "备案最后一日", "renewal_reminder_due": "换届提醒期限", "renewal_reminder_on": "换届提醒日期",
    "renewal_reminder_months": "提前提醒月数", "reminded_on": "提醒日期", "roll": "业主名册", "owner_count": "业主人数",
    "catalogue": "先议事项目录", "catalogue_version": "目录版本", "setting_id": "配置编号", "setting_version": "配置版本",
    "classification": "事项分类", "matter": "事项", "matter_code": "事项编码", "matter_name": "事项名称",
    "matters": "事项", "reason_zh": "说明", "review": "先议意见", "reviews": "历次先议", "reviewer": "审查人",
    "review_note": "审查意见", "opinion": "意见", "committee_vote": "业委会表决", "members_total": "委员总数",
    "members_present": "出席委员", "members_agree": "同意委员", "decision_ref": "决定文号", "decision_text": "决定内容",
    "total_amount": "金额合计", "amount": "金额（元）", "mediator": "调解员", "co_mediators": "协助调解员",
    "mediation_deadline": "调解期限", "level_deadline": "本级调解期限", "level_name": "调解层级", "levels": "各级调解",
    "sessions": "调解记录", "agreement_no": "协议编号", "agreement_date": "协议日期", "terms": "协议条款",
    "performance_deadline": "履行期限", "performance_manner": "履行方式", "party_signatures": "当事人签字",
    "signed": "已签字", "method": "方式", "court": "法院", "legal_aid": "法律援助", "route": "途径",
    "respondent": "被申请人", "applicant": "申请人", "disputed_matters": "争议事项", "intake_prefilled": "登记预填",
    "mediation_place": "调解地点", "submitter_kind": "提交人类型", "submitter_name": "提交人姓名",
    "inspection_place": "查阅地点", "election_kind": "选举类型", "case": "立案信息", "group": "筹备组",
    "meeting": "会议安排", "place": "地点", "note": "备注", "text": "内容", "date": "日期", "due": "期限",
    "due_at": "期限", "new_due": "新期限", "old_due": "原期限", "last_day": "最后一日", "ok": "通过",
    "result": "结果", "conclusion": "结论", "passed": "通过", "withdrawn": "已撤回", "closes_at": "截止时间",
    "earliest": "最早日期", "expired": "已届满", "steps": "步骤", "org_code": "组织编码", "committee_name": "业主委员会名称",
    "group_name": "筹备组名称", "branch_name": "党支部名称", "affiliation": "所属组织", "id_number": "身份证号",
    "contact_phone": "联系电话", "office_address": "办公地址", "objection": "异议", "objection_contact": "异议受理方式",
    "attendees": "参加人员", "minutes": "会议纪要", "agenda": "议程", "recorded_at": "记录时间", "recorded_by": "记录人",
    "recorded_on": "记录日期", "visited_on": "回访日期", "accepted_on": "受理日期", "agreed_at": "达成协议时间",
    "assigned_at": "指派时间", "escalated_at": "升级时间", "ended_at": "结束时间", "ended_on": "结束日期",
    "start_level": "受理层级", "extend_days": "延长天数", "seal_text": "印章文字", "instructions": "说明",
    "approved_ids": "通过的候选人", "to_review": "待审查", "reviewed": "已审查", "quorum_met": "达到参与要求",
    "process": "流程", "definition_version": "流程版本", "replaces_id": "取代的文书编号",
}

_LEVELS = {k: v.removesuffix("调解") for k, v in LEVEL_ZH.items()}
LEVEL_NAMES = _LEVELS
_OUTCOMES = {
    "closed": "终止", "withdrawn": "撤回", "passed": "通过", "rejected": "未通过",
    "settled": "调解成功", "referred": "引导诉讼/仲裁", "not_accepted": "不予受理",
    "agree": "同意", "agree_with_changes": "修改后同意", "disagree": "不同意", "not_required": "无需先议",
}
# Coded values, per key (inside nested entries too: `outcome` of a review, `from`/`to` of an escalation).
VALUES_ZH: dict[str, Mapping[Any, str]] = {
    # `kind` is an election's kind, or (in a document's audit detail) a notice's kind.
    "kind": registry.derived(lambda: {"first": "首次选举", "renewal": "换届选举", **PARTY_KINDS,
                                      **{k: n.title for k, n in NOTICE_KINDS.items()}}),
    "process": PROCESS_ZH,
    "outcome": _OUTCOMES, "review_outcome": _OUTCOMES,
    "stage": {"confirming": "待党支部确认事项分类", "classified": "已分类", "in_review": "党组织先议中", "escalated": "先议超期，已升级督办",
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
    # Only prior review has these two. A street's own catalogue may add codes; the summary's
    # matter_name names those.
    "matter_code": {**{m["code"]: m["name"] for m in DEFAULT_MATTERS}, UNLISTED: "不属于先议事项目录"},
    "submitter_kind": SUBMITTER_KINDS,
}
UNITS_ZH = {"term_years": "年", "total_area": "平方米", "participating_area": "平方米", "party_member_percent": "%",
            "days": "天", "execution_total": "元", "units": "套", "group_size": "人", "owners": "人",
            "total_owners": "人", "participating_owners": "人", "approved_candidates": "人", "elected_count": "人",
            "excluded_by_negative_list": "人", "parties": "人", "set_aside_votes": "张", "meeting_postponed": "次"}
# Summary maps keyed by mediation level: their keys are level codes, their values follow the parent key.
BY_LEVEL = {"level_started_at", "level_due_at", "level_ended_at", "level_results"}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

Node = dict[str, Any]  # {"text": str} | {"items": [Node]} | {"pairs": [(label, Node)]}


@dataclass
class Vocabulary:
    """Field titles and choice titles declared by a definition's form schemas (and UI schemas),
    by field name and by "parent.field" (so `kind` of a party and `kind` of a group member each get
    their own title). A vocabulary labels case data: data keys come before summary keys."""

    keys: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[Any, str]] = field(default_factory=dict)
    data: bool = True

    @classmethod
    def of_forms(cls, forms: Mapping[str, Any] | None) -> Vocabulary:
        vocab = cls()
        for name, doc in sorted((forms or {}).items()):
            if not isinstance(doc, dict):
                continue
            if name.endswith(".ui.json"):
                vocab._ui(doc, None, None)
            else:
                vocab._object(doc, None)
        return vocab

    def _names(self, key: str, parent: str | None) -> list[str]:
        return [key] + ([f"{parent}.{key}"] if parent else [])

    def _choices(self, key: str, parent: str | None, pairs: list[tuple[Any, Any]]) -> None:
        for name in self._names(key, parent):
            coded = self.values.setdefault(name, {})
            for value, title in pairs:
                if isinstance(value, (str, int)) and not isinstance(value, bool) and isinstance(title, str) and title:
                    coded.setdefault(value, title)

    def _object(self, schema: Any, owner: str | None) -> None:
        """The properties of an object schema (and of its conditional branches), whose key is `owner`."""
        if not isinstance(schema, dict):
            return
        for k, sub in (schema.get("properties") or {}).items():
            self._schema(k, sub, owner)
        for branch in ("if", "then", "else"):
            self._object(schema.get(branch), owner)
        for alt in (schema.get("oneOf") or []) + (schema.get("anyOf") or []) + (schema.get("allOf") or []):
            if isinstance(alt, dict) and "const" not in alt:
                self._object(alt, owner)
        for sub in (schema.get("dependentSchemas") or {}).values():
            self._object(sub, owner)
        for sub in (schema.get("$defs") or schema.get("definitions") or {}).values():
            self._object(sub, None)

    def _schema(self, key: str, schema: Any, parent: str | None) -> None:
        if not isinstance(schema, dict):
            return
        if isinstance(schema.get("title"), str):
            for name in self._names(key, parent):
                self.keys.setdefault(name, schema["title"])
        alts = schema.get("oneOf") or schema.get("anyOf") or []
        self._choices(key, parent, [(a.get("const"), a.get("title")) for a in alts if isinstance(a, dict) and "const" in a])
        names = schema.get("enumNames") or schema.get("x-enumNames")
        if isinstance(schema.get("enum"), list) and isinstance(names, list):
            # A deployed form may name fewer choices than it has; the unnamed ones show their code.
            self._choices(key, parent, list(zip(schema["enum"], names, strict=False)))
        self._object(schema, key)
        if isinstance(schema.get("items"), dict):  # a list's items are labelled like the list
            self._schema(key, {k: v for k, v in schema["items"].items() if k != "title"}, parent)

    def _ui(self, ui: Any, key: str | None, parent: str | None) -> None:
        if not isinstance(ui, dict):
            return
        if key and isinstance(ui.get("ui:enumNames"), list) and isinstance(ui.get("ui:enum"), list):
            self._choices(key, parent, list(zip(ui["ui:enum"], ui["ui:enumNames"], strict=False)))
        for k, sub in ui.items():
            if not k.startswith("ui:"):
                self._ui(sub, k, key)
            elif k == "items":
                self._ui(sub, key, parent)


# The summary's own labels, without any form's.
NO_VOCABULARY = Vocabulary(data=False)


def key_zh(key: str, vocab: Vocabulary = NO_VOCABULARY, parent: str | None = None) -> str:
    if vocab.data:  # case data: the field's own form title, then the runtime's keys, then the summary's
        found = (parent and vocab.keys.get(f"{parent}.{key}")) or DATA_ZH.get(key) or vocab.keys.get(key)
        return found or SUMMARY_ZH.get(key) or NESTED_ZH.get(key) or key
    return SUMMARY_ZH.get(key) or NESTED_ZH.get(key) or DATA_ZH.get(key) or key


def _text(key: str | None, value: Any, vocab: Vocabulary = NO_VOCABULARY, parent: str | None = None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (str, int)):
        in_context = vocab.values.get(f"{parent}.{key}", {}) if parent else {}
        for coded in (in_context, VALUES_ZH.get(key or "", {}), registry.value_labels(key or ""),
                      vocab.values.get(key or "", {})):
            if value in coded:
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


def display(key: str | None, value: Any, vocab: Vocabulary = NO_VOCABULARY, parent: str | None = None) -> Node:
    """One value as a small tree the case page renders without Python or JSON syntax. `parent` is
    the key of the object or list `key` sits in."""
    if isinstance(value, dict):
        if not value:
            return {"text": "—"}
        if key in BY_LEVEL:
            return {"pairs": [(_LEVELS.get(k, k), display(key, v, vocab, parent)) for k, v in value.items()]}
        return {"pairs": [(key_zh(k, vocab, key), display(k, v, vocab, key)) for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        if not value:
            return {"text": "—"}
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return {"text": "、".join(_text(key, v, vocab, parent) for v in value)}
        return {"items": [display(key, v, vocab, parent) for v in value]}
    return {"text": _text(key, value, vocab, parent)}


def flat_text(node: Node) -> str:
    """A display tree as one line (for exports): 键：值；… and 1. … 2. …"""
    if "pairs" in node:
        return "；".join(f"{label}：{flat_text(child)}" for label, child in node["pairs"])
    if "items" in node:
        return " ".join(f"{i}. {flat_text(child)}" for i, child in enumerate(node["items"], start=1))
    return node["text"]


NAMED_BY = {"matter_code": "matter_name"}


def summary_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The summary as (key, Chinese label, display tree) rows: known keys in SUMMARY_ZH order, then
    unknown keys alphabetically under their raw names."""
    summary = summary or {}
    order = {k: i for i, k in enumerate(SUMMARY_ZH)}
    # A code shown by its name elsewhere in the summary is left out (the name says it).
    keys = sorted((k for k in summary if not (k in NAMED_BY and summary.get(NAMED_BY[k]))),
                  key=lambda k: (order.get(k, len(order)), k))
    return [{"key": k, "label": key_zh(k), "value": display(k, summary[k])} for k in keys]


# --- audit actions --------------------------------------------------------------------------

# Runtime and platform actions; a process's own actions are its descriptor's `action_labels`.
BASE_ACTION_ZH: dict[str, str] = {
    # runtime (engine/runtime/service.py and its job modules, deploy.py)
    "case_started": "发起案件", "task_completed": "办理完成", "case_completed": "案件办结",
    "timer_fired": "期限届满（系统自动处理）", "job_completed": "后台步骤完成", "job_failed": "后台步骤执行失败（将自动重试）",
    "incident_raised": "后台步骤多次失败，转为异常事件", "incident_retried": "重试异常步骤", "job_skipped": "跳过异常步骤", "definition_deployed": "部署流程定义",
    "deadline_recounted": "按放假安排重算期限",
    # background jobs of other kinds (engine/runtime/background.py)
    "job_queued": "提交后台任务", "job_refused": "后台任务未通过校验，未作任何更改", "job_result_downloaded": "下载后台任务结果",
    "job_result_expired": "后台任务结果文件保留期满删除",
    # who does a task, comments, supervisor controls (engine/runtime/{claims,comments,supervision}.py)
    "task_claimed": "认领任务", "task_released": "退回岗位", "task_assigned": "指派任务", "task_delegated": "转办任务",
    "comment_added": "发表意见", "case_cancelled": "撤销案件", "case_suspended": "暂停办理", "case_resumed": "恢复办理",
    "timer_rescheduled": "调整期限", "step_reopened": "重新打开步骤（补救）",
    # training database (Runtime.mark_training, Runtime.advance_case_clock)
    "training_enabled": "建为培训环境", "training_clock_advanced": "模拟时间前进（培训环境）",
    # documents
    "document_issued": "生成文书", "document_rendered": "生成文书",
    # configuration, tokens, accounts (engine/settings_store.py, engine/tokens.py, engine/web/*)
    "setting_changed": "修改配置", "api_token_created": "创建接口令牌", "api_token_revoked": "吊销接口令牌",
    "user_created": "新建用户", "user_changed": "修改用户", "org_created": "新建组织",
    "login": "登录", "login_failed": "登录失败（密码错误）", "login_refused_locked": "登录被拒绝（账户已锁定）",
    "login_refused_throttled": "登录被暂缓（失败次数过多）", "logout": "退出登录（所有会话失效）",
    "password_changed": "修改密码（其他会话失效）",
}
ACTION_ZH = BASE_ACTION_ZH  # other adapters add their own actions here (e.g. the vote register)
PROCESS_ACTION_ZH = registry.derived(registry.action_labels)
REFUSED_ZH = {"complete_task": "提交任务", "open_task": "打开任务", "fire_timer": "期限届满自动处理",
              "start_case": "发起案件", "save": "保存案件",
              "recount_deadlines": "重算期限", "advance_case_clock": "模拟时间前进",
              "claim_task": "认领任务", "release_task": "退回岗位", "assign_task": "指派任务",
              "delegate_task": "转办任务", "cancel_case": "撤销案件", "suspend_case": "暂停办理",
              "resume_case": "恢复办理", "reschedule_timer": "调整期限", "reopen_step": "重新打开步骤"}


def actor_zh(actor: str, names: Mapping[str, str] | None = None) -> str:
    """Who did it, as a person reads it: a user's display name, or what kind of system actor."""
    if names and actor in names:
        return names[actor]
    if actor.startswith("worker:"):
        return "系统（定时任务）"
    if actor.startswith("api:"):
        return f"系统（接口：{actor[4:]}）"
    if actor == "cli":
        return "系统（命令行）"
    if actor == "system":
        return "系统"
    return actor


def _action_label(action: str) -> str | None:
    return ACTION_ZH.get(action) or PROCESS_ACTION_ZH.get(action)


def action_zh(action: str, detail: Any = None) -> str:
    """Chinese label of an audit action; for a few prior-review events the detail adds the result."""
    if action.startswith("refused:"):
        return "被拒绝的操作：" + REFUSED_ZH.get(action[8:], _action_label(action[8:]) or action[8:])
    label = _action_label(action) or _action_label(f"prior_review:{action}") or action
    if not isinstance(detail, dict):
        return label
    if action.endswith("review_recorded") and detail.get("outcome") in _OUTCOMES:
        return f"{label}：{_OUTCOMES[detail['outcome']]}"
    if action.endswith("decision_recorded") and "passed" in detail:
        how = VALUES_ZH["decision"].get(detail.get("path"), "")
        return f"{label}：{how}{'，' if how else ''}{'通过' if detail['passed'] else '未通过'}"
    if action == "training_clock_advanced" and "days" in detail:
        return f"{label}：{detail['days']} 天，原因：{detail.get('reason', '')}"
    if action == "document_issued" and detail.get("title"):
        return f"{label}「{detail['title']}」"
    if action.endswith(":classified") and "listed" in detail:
        by = ("，经党支部确认" if detail.get("confirmed_by") else "，经党支部改归" if detail.get("reclassified_by")
              else "（提交方申报为非先议，依目录列入）" if detail.get("proposed_unlisted") and detail["listed"] else "")
        return f"{label}：{'列入先议清单' if detail['listed'] else '未列入先议清单'}{by}"
    return label
