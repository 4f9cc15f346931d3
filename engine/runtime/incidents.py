"""Incidents: jobs whose attempts are spent, and what operators do about them.

An incident stays on its case until an operator retries the job (its attempts start again) or,
where the process marks the step `hongwu:skippable`, skips the step with a reason (the engine
goes on as if it had run, without its effects). Both are audited on the case's chain in the same
transaction as the change. Operators: administrators anywhere, street staff within their street.
The stack trace is for administrators only. A job that belongs to no case (a bulk audit export)
is operated by administrators; skipping is only for continuations (a step of a case's diagram).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import audit
from engine.db.job_models import CONTINUATION, Job
from engine.db.models import Case

from .actors import Actor
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .jobs import job_chain, progress_view

OPERATOR_ROLES = frozenset({"admin", "street_staff"})
MAX_REASON = 500


@dataclass
class IncidentView:
    job_id: str
    case_number: str | None  # None: a job of no case (e.g. a bulk audit export)
    case_title: str
    case_version: int | None
    title: str
    status: str
    attempts: int
    max_attempts: int
    message: str | None
    trace: str | None  # administrators only
    incident_at: datetime | None
    skippable: bool
    triggered_by: str

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["incident_at"] = self.incident_at.isoformat() if self.incident_at else None
        return d


def may_operate(actor: Actor) -> bool:
    return actor.is_system or actor.role in OPERATOR_ROLES


def _view(job: Job, case: Case | None, actor: Actor) -> IncidentView:
    return IncidentView(job.id, case.case_number if case else None, case.title if case else "（不属于案件）",
                        case.version if case else None, job.title, job.status, job.attempts,
                        job.max_attempts, job.last_error,
                        job.last_trace if actor.is_admin else None,
                        job.incident_at, bool(job.skippable), job.triggered_by)


def list_incidents(rt, actor: Actor, limit: int = 200) -> list[IncidentView]:
    """Open incidents in the actor's jurisdiction, oldest first."""
    if not may_operate(actor):
        raise Forbidden(f"role {actor.role} may not see incidents", "当前角色无权查看异常事件")
    with rt.uow() as s:
        # Jobs of no case are for operators who cover everything (administrators).
        mine = Case.org_path.startswith(actor.jurisdiction_path)
        if actor.covers_all:
            mine = mine | Job.case_id.is_(None)
        rows = s.execute(select(Job, Case).outerjoin(Case, Case.id == Job.case_id)
                         .where(Job.status == "incident", mine)
                         .order_by(Job.incident_at, Job.id).limit(limit)).all()
        return [_view(j, c, actor) for j, c in rows]


def case_jobs(rt, case_number: str, actor: Actor) -> list[dict[str, Any]]:
    """The case's jobs as the case page shows them (progress, or the incident)."""
    with rt.uow() as s:
        case = rt._case_for_reading(s, case_number, actor)
        now = rt.now()
        out = []
        for job in s.scalars(select(Job).where(Job.case_id == case.id, Job.status != "done")
                             .order_by(Job.created_at, Job.id)):
            d = progress_view(job, now)
            d.update(incident=_view(job, case, actor).as_dict(), may_operate=may_operate(actor) and not actor.read_only)
            out.append(d)
        return out


def job_progress(rt, job_id: str, actor: Actor) -> dict[str, Any]:
    """One job's progress for the polling bar; "gone" once the step has run (the job row is
    removed by the save that ran it)."""
    with rt.uow() as s:
        row = s.execute(select(Job, Case).outerjoin(Case, Case.id == Job.case_id).where(Job.id == job_id)).first()
        if row is not None and row[0].kind != CONTINUATION:
            from .background import job_view

            return job_view(s, row[0], row[1], actor, rt.now())
        if row is None:
            done = s.scalar(select(audit.AuditEvent.case_id).where(audit.AuditEvent.task_id == job_id,
                                                                  audit.AuditEvent.action.in_(("job_completed", "job_skipped")))
                            .limit(1))
            case = s.get(Case, done) if done is not None else None
            if case is None or not actor.covers(case.org_path):
                raise NotFound(f"unknown job {job_id}", "任务不存在")
            return {"id": job_id, "status": "done", "done": 1, "total": 1, "percent": 100, "eta_seconds": 0,
                    "running": False, "case_number": case.case_number}
        job, case = row
        if case is None or not actor.covers(case.org_path):
            raise NotFound(f"unknown job {job_id}", "任务不存在")
        return {**progress_view(job, rt.now()), "case_number": case.case_number}


def _locked(rt, s, job_id: str, actor: Actor, expected_version: int | None) -> tuple[Job, Case | None]:
    if not may_operate(actor) or actor.read_only:
        raise Forbidden(f"role {actor.role} may not handle incidents", "当前角色无权处理异常事件")
    pg = s.get_bind().dialect.name == "postgresql"
    case_id = s.scalar(select(Job.case_id).where(Job.id == job_id))
    case = s.get(Case, case_id, with_for_update=pg) if case_id else None
    job = s.get(Job, job_id, with_for_update=pg)
    if job is None or (case is None and not (job.case_id is None and actor.covers_all)) \
            or (case is not None and not actor.covers(case.org_path)):
        raise NotFound(f"no incident {job_id}", "该异常事件不存在或已处理")
    if expected_version is not None and case is not None and case.version != expected_version:
        raise Conflict(f"case {case.case_number} changed since you opened it",
                       f"案件 {case.case_number} 已被他人更新，请刷新后重试")
    if job.status != "incident":
        raise Conflict(f"job {job_id} is not an incident", "该步骤没有待处理的异常（可能已被他人重试或处理）")
    return job, case


def retry(rt, job_id: str, actor: Actor, expected_version: int | None = None) -> dict[str, Any]:
    """重试: the job's attempts start again, now; audited with who asked."""
    with rt.uow() as s:
        job, case = _locked(rt, s, job_id, actor, expected_version)
        now = rt.now()
        chain, case_id = job_chain(s, job)
        audit.append(s, chain=chain, case_id=case_id, actor=actor.username,
                     action="incident_retried", task_id=job.id, task_name=job.title,
                     detail={"attempts": job.attempts, "message_zh": job.last_error}, now=now)
        job.status, job.attempts, job.run_at = "pending", 0, now
        job.claimed_by = job.claimed_until = None
        job.incident_at = None
        job.progress_done = job.progress_total = 0
        return {"job_id": job.id, "case_number": case.case_number if case else None, "status": "pending"}


def skip(rt, job_id: str, actor: Actor, reason: Any, expected_version: int | None = None) -> dict[str, Any]:
    """跳过: complete the step without running it, then let the engine go on; only where the
    process marks the step skippable, with a reason; audited in the same transaction."""
    from .completion import engine_failures

    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REASON:
        raise ValidationFailed("a reason (up to 500 characters) is required",
                               f"请填写跳过的原因（不超过 {MAX_REASON} 字）",
                               details=[{"field": "reason", "message": "reason required", "message_zh": "请填写原因"}])
    try:
        with rt.uow() as s:
            job, case = _locked(rt, s, job_id, actor, expected_version)
            if job.kind != CONTINUATION or case is None:
                raise Forbidden(f"job {job.title} is not a step of a case", f"「{job.title}」不是流程中的步骤，不能跳过，只能重试")
            if not job.skippable:
                raise Forbidden(f"step {job.title} may not be skipped", f"流程不允许跳过「{job.title}」，只能重试")
            wf, loaded = rt.workflow_for(s, case)
            task = wf.get_task_from_id(UUID(job_id))
            if task is None or task.state != TaskState.READY:
                raise Conflict(f"step {job.title} is no longer waiting", f"「{job.title}」已不在等待执行")
            previous, clock, now = rt._begin_change(s, case, wf, Actor.system())
            chain = audit.case_chain(case.case_number)
            audit.append(s, chain=chain, case_id=case.id, actor=actor.username, action="job_skipped",
                         task_id=job.id, task_name=job.title,
                         detail={"reason": text, "attempts": job.attempts, "message_zh": job.last_error}, now=now)
            with engine_failures():
                task.complete()
                steps, fired = rt._run_engine(wf, clock)
            rt._save(s, case, wf, loaded, now, previous=previous)
            rt._audit_fired(s, case, Actor.system(), fired, steps, now)
            if case.status == "completed":
                audit.append(s, chain=chain, case_id=case.id, actor=actor.username, action="case_completed", now=now)
            number, version = case.case_number, case.version
        rt._workflows.put(case.id, version, wf)
        return {"job_id": job_id, "case_number": number, "status": "skipped"}
    except IntegrityError as exc:
        raise Conflict("the case was changed by someone else at the same moment; please retry",
                       "案件正被他人同时办理，请刷新后重试") from exc
