"""Service tasks and guards of `bpmn/tiered_mediation.bpmn`, and taking in a dispute from outside
(the 12345 hotline API, `hongwu mediation intake`).

The BPMN keeps no logic of its own: each service here reads the task data the forms filled in,
applies the rules of `engine.domain.mediation`, and writes back what the next steps and the
reports need. Besides its result variable a service may set further task-data variables (the
deadline a boundary timer reads, the context a notice is rendered with); `case_summary` — the
reportable facts the service layer copies into `process_case.summary` — is only changed here.
"""
from __future__ import annotations

from engine.domain import mediation as rules
from engine.reports.mediation import mediation_stats
from engine.runtime.invariants import Invariant
from engine.runtime.registry import DemoCase, DemoStep, ProcessDescriptor, Report, SettingSpec

# The service tasks, pick lists and panels register themselves when their modules load.
from . import agreement, intake, level, outside  # noqa: F401
from ._shared import INTAKE_FIELDS, PROCESS_KEY
from .outside import dispute_panel, published_schema, validate_intake

# --- invariants: checked on every save of a mediation case, whatever route made the change -----


# --- the process's one declaration ----------------------------------------------------------

INVARIANTS = (
    Invariant("levels_in_order", "调解层级只能由社区到街道再到区级逐级上升", rules.levels_in_order),
    Invariant("deadline_within_limit", "各级调解期限不超过一个月，经当事人同意延长的累计不超过30日",
              rules.deadlines_within_limit),
    Invariant("one_extension_per_level", "每级调解至多延长一次", rules.one_extension_per_level),
    Invariant("closed_with_agreement_or_referral", "已受理的案件结案时须有调解协议或引导诉讼/仲裁",
              rules.closed_with_agreement_or_referral),
)

SUMMARY_LABELS = {
    "received_at": "登记时间", "source": "来源", "category": "纠纷类别", "parties": "当事人数",
    "party_kinds": "当事人类型", "external_ref": "外部编号", "accepted": "予以受理", "not_accepted_reason": "不予受理理由",
    "start_level": "受理层级", "start_level_reason": "直接由上级受理的理由", "accepted_at": "受理时间",
    "current_level": "当前层级", "level_started_at": "各级开始时间", "level_due_at": "各级调解期限",
    "level_ended_at": "各级结束时间", "level_results": "各级调解结果", "extensions": "延长调解期限",
    "settled_level": "达成协议的层级", "agreement_signed_on": "协议签订日期",
    "judicial_confirmation_apply_by": "申请司法确认截止日", "follow_up_on": "回访日期（应于）",
    "follow_up": "回访情况", "referred_at": "引导诉讼/仲裁时间", "concluded_at": "结案时间",
}

DEMO_PARTIES = [
    {"kind": "owner", "side": "applicant", "name": "张建国", "phone": "13800000001",
     "address": "明发滨江新城3栋201室"},
    {"kind": "property_company", "side": "respondent", "name": "南京明发物业服务有限公司",
     "phone": "025-58000000", "address": "浦口区江浦街道滨江大道8号", "representative": "王经理"},
]

DESCRIPTOR = ProcessDescriptor(
    key=PROCESS_KEY,
    title="分级调解",
    case_prefix="TJ",
    starters=frozenset({"street_staff", "community_staff", "district_mediator"}),
    data_labels=SUMMARY_LABELS,
    settings=(SettingSpec(rules.SETTING_KEY, "分级调解期限", rules.default_setting, rules.validate_setting,
                          labels={k: spec[0] for k, spec in rules.SETTING_FIELDS.items()}),),
    report=Report("mediation", "矛盾分级化解", mediation_stats, period=True),
    demo=(DemoCase("PK-JP-XC-01", "community", (
        DemoStep("register", "community", {
            "source": "walk_in", "category": "fees", "parties": DEMO_PARTIES,
            "facts": "业主认为物业服务费上调未经业主大会决定，拒绝按新标准缴费；物业公司停止门禁卡授权。",
            "claims": "按原标准收费并恢复门禁"}),
        DemoStep("review", "community",
                 {"accepted": True, "start_level": "community", "mediation_place": "新城社区调解室"}),
    )),),
    invariants=INVARIANTS,
)


# What other layers use: the intake service and its published schema, the dispute panel.
__all__ = ["DESCRIPTOR", "INTAKE_FIELDS", "PROCESS_KEY", "dispute_panel", "published_schema", "validate_intake"]
