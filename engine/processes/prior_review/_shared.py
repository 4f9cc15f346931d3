"""What the prior-review service tasks share."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.attachments import load_attachment
from engine.db.models import AuditEvent
from engine.notices.kinds import NoticeKind
from engine.runtime.errors import ValidationFailed
from engine.runtime.services import ServiceContext

EDITOR_ROLES = frozenset({"street_staff", "admin"})  # who may change a street's catalogue

# The committee's own decision has no notice kind among the assembly notices: its result is
# published with this one (template docs_templates/committee_decision_result.html).
COMMITTEE_RESULT = NoticeKind(
    "committee_decision_result", "关于业主委员会决定事项的公告",
    "业委会决定公告 / the owners' committee's decision on a matter it may decide",
    {"compound_name": "小区名称 / compound name", "matter": "事项", "meeting_date": "会议日期",
     "decision_text": "决定内容", "members_total": "委员总数", "members_present": "出席委员人数",
     "members_agree": "同意委员人数", "passed": "是否通过(bool)", "rule": "表决规则"},
    {"review_note": "先议情况说明"})




def _audit(ctx: ServiceContext, action: str, detail: dict[str, Any]) -> None:
    audit.append(ctx.session, chain=audit.case_chain(ctx.case.case_number), case_id=ctx.case.id,
                 actor=ctx.actor, action=action, detail=detail, now=ctx.now)


def case_events(session: Session, case_number: str) -> list[tuple[str, dict]]:
    """(action, detail) of a case's prior-review events, in chain order."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.chain == audit.case_chain(case_number), AuditEvent.action.like("prior_review:%"))
        .order_by(AuditEvent.seq)).all()
    return [(a, json.loads(d) if d else {}) for a, d in rows]


def _iso_now(ctx: ServiceContext) -> str:
    return ctx.now.isoformat()


def _attachment_bytes(ctx: ServiceContext, ref: Any, what_zh: str, what: str) -> tuple[bytes, str]:
    if not isinstance(ref, dict):
        raise ValidationFailed(f"{what} is missing", f"缺少{what_zh}",
                               details=[{"field": what, "message": f"{what} is missing", "message_zh": f"缺少{what_zh}"}])
    att = load_attachment(ctx.session, ref)
    return att.content, att.filename


