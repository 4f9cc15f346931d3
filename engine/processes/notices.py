"""Service task `issue_notice`: any process renders and stores an official notice.

    <spiffworkflow:serviceTaskOperator id="issue_notice" resultVariable="notice">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="kind" type="str" value="'candidate_list_publicity'"/>
        <spiffworkflow:parameter id="context" type="any" value="candidate_notice_context"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

The document row is written in the case's unit of work, so it commits with the case state.
"""
from __future__ import annotations

from engine.notices.service import issue_document
from engine.runtime.services import ServiceContext, service


@service("issue_notice", context=True)
def issue_notice(ctx: ServiceContext, kind: str, context: dict, title: str | None = None,
                 replaces: int | None = None, replace_reason: str | None = None) -> dict:
    """Render `kind` with `context` → {"document_id", "verification_code", "sha256", "title", "doc_number"}."""
    doc = issue_document(ctx.session, kind=kind, context=dict(context or {}), case=ctx.case, actor=ctx.actor,
                         now=ctx.now, settings=ctx.settings, title=title, replaces=replaces,
                         replace_reason=replace_reason)
    return {"document_id": doc.id, "verification_code": doc.verification_code, "sha256": doc.sha256,
            "title": doc.title, "doc_number": doc.doc_number}
