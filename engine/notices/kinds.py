"""Every kind of official notice hongwu issues: its default Chinese title, its template and the
context variables a caller MUST supply (checked before rendering, so a missing one is named in
both languages and nothing is stored).

The engine adds these variables itself — callers never pass them (they may override the first
three in `context`):

    issuer            发文机关, default: the case compound's street + "办事处"
    doc_number        文号 "江街〔2026〕3号", default: the issuing organisation's 机关代字, the year and
                      the next sequence number of that issuer in that year
    date              成文日期 "2026年11月21日" (civil date of `now`, Asia/Shanghai)
    title             标题 (the kind's default title unless given)
    verification_code 核验码, verify_url, qr_data_uri (QR code of verify_url, SVG data URI)
    case_number       案件编号 of the case (or "" without a case)

Optional variables every kind accepts: recipient (主送, e.g. "各位业主："), body (extra
paragraphs, list of str), attachments (附件 names, list of str), contact (联系人及电话),
cc (抄送), replaces_reason (why this notice replaces another; required with `replaces`).
The engine also sets test_mark (base URL unreachable for residents) and seal_image (the issuing
organisation's electronic seal, if uploaded).

Dates may be given as `date`/`datetime` objects or ISO strings ("2026-12-08"); templates print
them as "2026年12月8日" with the `cn_date` filter. Lists of people are lists of objects whose
keys are listed under each variable.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from engine.runtime.errors import ValidationFailed

ENGINE_VARIABLES = ("issuer", "doc_number", "date", "title", "verification_code", "verify_url", "qr_data_uri",
                    "case_number", "issued_on", "created_iso")
COMMON_OPTIONAL = ("recipient", "body", "attachments", "contact", "cc", "seal_text", "replaces_reason", "replaces_note")


@dataclass(frozen=True)
class NoticeKind:
    kind: str
    title: str  # default Chinese title
    description: str
    required: Mapping[str, str]  # variable -> what it is (zh / en)
    optional: Mapping[str, str] = field(default_factory=dict)
    check: Callable[[dict, date], list[dict]] | None = None  # extra checks → problems

    @property
    def template(self) -> str:
        return f"{self.kind}.html"


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _meeting_at_least_15_days(context: dict, issued_on: date) -> list[dict]:
    """Property Management Regulations Art. 13 / 业主大会议事规则: the meeting is announced
    15 days in advance. Refuse a notice that would be posted later than that."""
    meeting = _parse_date(context.get("meeting_date"))
    if meeting is None:
        return [{"field": "meeting_date", "message": "meeting_date must be an ISO date (YYYY-MM-DD)",
                 "message_zh": "meeting_date 必须是日期（YYYY-MM-DD）"}]
    if meeting < issued_on + timedelta(days=15):
        return [{"field": "meeting_date",
                 "message": f"the meeting ({meeting}) must be at least 15 days after the notice ({issued_on})",
                 "message_zh": f"会议日期（{meeting}）须在公告发布（{issued_on}）15日之后"}]
    return []


_PUBLICITY = {
    "publicity_start": "公示开始日期 / first day of publicity",
    "publicity_end": "公示截止日期 / last day of publicity",
}
_COMPOUND = {"compound_name": "小区名称 / compound name"}


def _kinds() -> list[NoticeKind]:
    return [
        NoticeKind(
            "preparatory_group_list", "关于业主大会筹备组成员名单的公示",
            "筹备组成员名单公示 / list of preparatory-group members, open to objections",
            {**_COMPOUND,
             "members": "成员列表 list of {name 姓名, position 职务(组长/副组长/成员), affiliation 身份或单位}",
             **_PUBLICITY},
            {"objection_to": "异议受理机构（默认发文机关）/ who receives objections",
             "objection_contact": "异议受理方式（电话、地点等）/ how to reach them"}),
        NoticeKind(
            "owner_roll_publicity", "关于业主名册的公示",
            "业主名册公示 / publicity of the owner roll (count and area for voting)",
            {**_COMPOUND,
             "owner_count": "业主总人数 / number of owners",
             "total_area": "专有部分总面积（平方米）/ total exclusive area m²",
             "inspection_place": "名册查阅地点 / where the roll may be inspected",
             **_PUBLICITY},
            {"owners": "名册明细 list of {name 姓名, units 房号, area 面积}",
             "objection_to": "异议受理机构（默认发文机关）", "objection_contact": "异议受理方式（电话、地点等）"}),
        NoticeKind(
            "meeting_plan_notice", "关于召开业主大会会议的公告",
            "业主大会会议公告 / owners' assembly meeting notice, posted ≥15 days before the meeting",
            {**_COMPOUND,
             "meeting_name": "会议名称 e.g. 首次业主大会会议",
             "meeting_date": "会议日期 ISO date (≥ 15 days after issue)",
             "meeting_time": "会议时间（文字）/ time, e.g. 上午9:00—11:30 或 投票期间",
             "place": "会议地点 / place",
             "form": "会议形式 / form (集体讨论 / 书面征求意见 / 电子投票)",
             "agenda": "议题列表 list of str",
             "voting_rules": "表决规则 list of str (双过半/双四分之三 …)"},
            {"organizer": "召集人 (default: issuer)"},
            check=_meeting_at_least_15_days),
        NoticeKind(
            "candidate_list_publicity", "关于业主委员会委员候选人名单的公示",
            "候选人名单公示 / list of candidates for the owners' committee",
            {**_COMPOUND,
             "candidates": "候选人 list of {name 姓名, gender 性别, units 房号, intro 简况}",
             "seats": "应选委员人数 / number of seats",
             **_PUBLICITY},
            {"objection_to": "异议受理机构（默认发文机关）", "objection_contact": "异议受理方式（电话、地点等）"}),
        NoticeKind(
            "ballot", "表决票",
            "选票/表决票: one page per owner / one ballot page per owner (election or assembly vote)",
            {**_COMPOUND,
             "vote_title": "投票事项名称 / what is voted on",
             "items": "表决事项或候选人 list of str",
             "ballots": "每张票 list of {owner_name 业主姓名, units 房号, area 专有面积}",
             "instructions": "填票说明 list of str",
             "deadline": "投票截止 / deadline text or ISO date"},
            {"mode": "election（选举）| vote（表决）, default vote",
             "ballot_box": "投票地点 / where to hand in",
             "layer": "full | static | owners — set by the engine (see ballots.py)",
             "second_factor": "pin（印网上投票密码，默认）| id_last6（印“请以身份证号后六位验证”）"}),
        NoticeKind(
            "election_result", "关于业主委员会选举结果的公告",
            "选举结果公告 / result of the owners' committee election",
            {**_COMPOUND,
             "meeting_name": "会议名称",
             "elected": "当选人 list of {name 姓名, position 职务, agree_owners 同意人数, agree_area 同意面积}",
             "participating_owners": "参与表决业主人数",
             "participating_area": "参与表决专有面积",
             "total_owners": "业主总人数",
             "total_area": "专有部分总面积"},
            {"alternates": "候补委员 list of {name}", "publicity_end": "公示截止日期"}),
        NoticeKind(
            "count_sheet", "计票表",
            "计票表 / one round's count from the ballot register, signed by the scrutineers",
            {**_COMPOUND,
             "vote_title": "投票事项名称 / what is voted on",
             "round": "轮次",
             "rows": "每名候选人或事项 list of {label, agree_owners, agree_area, disagree_owners, disagree_area, "
                     "abstain_owners, abstain_area, outcome}",
             "participating_owners": "参与表决业主人数", "participating_area": "参与表决专有面积",
             "total_owners": "业主总人数", "total_area": "专有部分总面积",
             "quorum_met": "是否达到参与表决要求", "threshold_zh": "通过标准（过半数 / 四分之三以上）"},
            {"register": "选票发放回收 {issued, delivered, returned, void}",
             "invalid": "无效票 list of {code, reason}", "duplicates": "重复投票另列 list of {code, reason}",
             "scrutineers": "监票、计票人姓名 list of str", "vote_words": "表决意见的中文"}),
        NoticeKind(
            "committee_filing", "关于业主委员会备案的公告",
            "业委会备案/成立公告 / the owners' committee is filed with the street office",
            {**_COMPOUND,
             "members": "委员 list of {name 姓名, position 职务}",
             "term_start": "任期开始", "term_end": "任期届满",
             "filing_number": "备案编号"},
            {"office_address": "办公地点", "contact_phone": "联系电话"}),
        NoticeKind(
            "party_branch_opinion", "小区党支部先议意见书",
            "小区党支部先议意见书 / the compound party branch's prior-review opinion",
            {**_COMPOUND,
             "branch_name": "党支部名称",
             "matter": "先议事项 / matter reviewed",
             "meeting_date": "支委会（党员大会）日期",
             "opinion": "审议意见 list of str",
             "conclusion": "结论 / conclusion (同意提交业主大会表决 / 退回修改 / 不同意)"},
            {"attendees": "参加人员 list of str"}),
        NoticeKind(
            "assembly_vote_notice", "关于业主大会表决事项的公告",
            "业主大会表决公告 / notice of an owners' assembly vote",
            {**_COMPOUND,
             "matter": "表决事项总称",
             "items": "表决事项 list of str",
             "form": "表决形式",
             "vote_start": "投票开始", "vote_end": "投票截止",
             "place": "投票地点 / 方式",
             "voting_rules": "表决规则 list of str"},
            {}),
        NoticeKind(
            "assembly_vote_result", "关于业主大会表决结果的公告",
            "表决结果公告 / result of an owners' assembly vote",
            {**_COMPOUND,
             "matter": "表决事项总称",
             "results": ("各项结果 list of {text 事项, agree_owners, agree_area, disagree_owners, disagree_area, "
                         "abstain_owners, abstain_area, passed 是否通过(bool), rule 规则}"),
             "participating_owners": "参与表决业主人数", "participating_area": "参与表决专有面积",
             "total_owners": "业主总人数", "total_area": "专有部分总面积"},
            {}),
        NoticeKind(
            "execution_publicity", "关于执行情况的公示",
            "执行情况公示 / execution publicity, e.g. maintenance-fund spending",
            {**_COMPOUND,
             "matter": "事项",
             "entries": "明细 list of {date 日期, item 项目, amount 金额(元), note 备注}",
             "total_amount": "合计金额（元）",
             **_PUBLICITY},
            {"decision_ref": "依据的表决结果 / the decision executed"}),
        NoticeKind(
            "mediation_acceptance", "调解受理通知书",
            "调解受理通知书 / a mediation request is accepted",
            {"recipient_name": "被通知人",
             "applicant": "申请人", "respondent": "被申请人",
             "matter": "纠纷事项",
             "accepted_on": "受理日期",
             "mediator": "调解员",
             "mediation_deadline": "调解期限（截止日期）"},
            {"committee_name": "人民调解委员会名称", "place": "调解地点", "compound_name": "小区名称"}),
        NoticeKind(
            "mediation_agreement", "人民调解协议书",
            "人民调解协议书 (People's Mediation Law Art. 29) / a mediation agreement",
            {"committee_name": "人民调解委员会名称",
             "parties": ("当事人 list of {role 甲方/乙方, name 姓名或名称, gender 性别, age 年龄 or \"\", "
                         "id_number 证件号码, address 住所, phone 联系方式}"),
             "facts": "纠纷的主要事实 / main facts",
             "disputed_matters": "争议事项 / matters in dispute",
             "responsibilities": "各方当事人的责任 / each party's responsibility",
             "terms": "协议内容 list of str",
             "performance_manner": "履行方式", "performance_deadline": "履行期限",
             "mediator": "人民调解员"},
            {"copies": "一式N份 (default: parties + 1)", "agreement_no": "协议编号"}),
        NoticeKind(
            "litigation_referral", "诉讼（仲裁）引导告知书",
            "诉讼/仲裁引导告知书 / mediation failed: how to go to court or arbitration",
            {"recipient_name": "被告知人",
             "matter": "纠纷事项",
             "reason": "调解终止原因",
             "court": "有管辖权的人民法院",
             "ended_on": "调解终止日期"},
            {"arbitration": "仲裁委员会（如有仲裁协议）", "legal_aid": "法律援助联系方式"}),
        NoticeKind(
            "judicial_confirmation_reminder", "司法确认告知书",
            "司法确认告知 / the parties may apply for judicial confirmation within 30 days",
            {"recipient_name": "被告知人",
             "agreement_date": "调解协议生效日期",
             "court": "人民法院",
             "apply_by": "申请截止日期（生效之日起三十日内）"},
            {"agreement_no": "协议编号"}),
    ]


_BUILT_IN: dict[str, NoticeKind] = {k.kind: k for k in _kinds()}
_ADDED: dict[str, NoticeKind] = {}  # register_kind


class _NoticeKinds(Mapping[str, NoticeKind]):
    """Every notice kind: the ones above, then those the processes declare in their descriptors
    (`ProcessDescriptor.notice_kinds`) — read from the registry, so a process's kind is here
    whether or not anything imported the process yet."""

    def _all(self) -> dict[str, NoticeKind]:
        from engine.runtime import registry

        out = {**_BUILT_IN, **_ADDED}
        for kind in registry.notice_kinds():
            out.setdefault(kind.kind, kind)
        return out

    def __getitem__(self, kind: str) -> NoticeKind:
        return self._all()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


NOTICE_KINDS: Mapping[str, NoticeKind] = _NoticeKinds()


def get_kind(kind: str) -> NoticeKind:
    try:
        return NOTICE_KINDS[kind]
    except KeyError:
        raise ValidationFailed(
            f"unknown notice kind {kind!r}", f"未知的文书种类 {kind!r}",
            details=[{"field": "kind", "message": f"unknown notice kind {kind!r}",
                      "message_zh": f"未知的文书种类 {kind!r}"}]) from None


def register_kind(kind: NoticeKind) -> None:
    """For child templates added outside this module (see docs_templates/README.md)."""
    if kind.kind in NOTICE_KINDS and NOTICE_KINDS[kind.kind] != kind:
        raise ValueError(f"notice kind {kind.kind!r} registered twice")
    _ADDED[kind.kind] = kind
    from engine.runtime import registry

    registry.changed()


def check_context(kind: NoticeKind, context: dict, issued_on: date) -> None:
    """Refuse a context that lacks a required variable (named, in both languages)."""
    problems = [
        {"field": name, "message": f"notice {kind.kind!r} needs variable {name!r} ({what})",
         "message_zh": f"文书“{kind.title}”缺少变量 {name}（{what}）"}
        for name, what in kind.required.items() if context.get(name) is None
    ]
    if not problems and kind.check is not None:
        problems = kind.check(context, issued_on)
    if problems:
        raise ValidationFailed("; ".join(p["message"] for p in problems),
                               "；".join(p["message_zh"] for p in problems), details=problems)
