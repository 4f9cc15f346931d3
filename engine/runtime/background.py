"""Background jobs as their requester sees them: the list "我的后台任务", one job's page (progress,
then its result), and the result file's download.

A job of a case (a large owner-roll import) is seen by whoever may read the case, as the case page
shows it; a job of no case (a bulk audit export) only by the person who asked for it and by
administrators. The result file is downloaded only by the requester and administrators, and each
download is audited on the job's chain (it carries audit data out of the system).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.db.job_models import CONTINUATION, Job
from engine.db.models import Attachment, Case

from .actors import Actor
from .errors import NotFound
from .jobs import enqueue, job_chain, kind_title, progress_view, rt_policy

MY_JOBS_LIMIT = 50


def _may_see(job: Job, case: Case | None, actor: Actor) -> bool:
    if case is not None:
        return actor.covers(case.org_path)
    return job.triggered_by == actor.username or actor.covers_all


def _may_download(job: Job, case: Case | None, actor: Actor) -> bool:
    return _may_see(job, case, actor) and (job.triggered_by == actor.username or actor.is_admin)


def job_view(s: Session, job: Job, case: Case | None, actor: Actor, now: datetime) -> dict[str, Any]:
    """Progress, and once done the result; NotFound for a job the actor may not see."""
    if not _may_see(job, case, actor):
        raise NotFound(f"unknown job {job.id}", "任务不存在")
    view = progress_view(job, now)
    result = json.loads(job.result) if job.result else None
    filename = None
    if job.result_attachment_id is not None and _may_download(job, case, actor):
        filename = s.scalar(select(Attachment.filename).where(Attachment.id == job.result_attachment_id))
    view.update(kind_title=kind_title(job.kind), case_number=case.case_number if case else None,
                created_at=job.created_at.isoformat(), result=result, download=filename,
                refused=bool(result and result.get("refused")))
    return view


def _row(s: Session, job_id: str) -> tuple[Job, Case | None]:
    row = s.execute(select(Job, Case).outerjoin(Case, Case.id == Job.case_id)
                    .where(Job.id == job_id, Job.kind != CONTINUATION)).first()
    if row is None:
        raise NotFound(f"unknown job {job_id}", "任务不存在")
    return row[0], row[1]


def get_job(rt, job_id: str, actor: Actor) -> dict[str, Any]:
    with rt.uow() as s:
        job, case = _row(s, job_id)
        return job_view(s, job, case, actor, rt.now())


def my_jobs(rt, actor: Actor, limit: int = MY_JOBS_LIMIT) -> list[dict[str, Any]]:
    """The jobs the actor asked for, newest first."""
    with rt.uow() as s:
        rows = s.execute(select(Job, Case).outerjoin(Case, Case.id == Job.case_id)
                         .where(Job.triggered_by == actor.username, Job.kind != CONTINUATION)
                         .order_by(Job.created_at.desc(), Job.id).limit(limit)).all()
        now = rt.now()
        return [job_view(s, j, c, actor, now) for j, c in rows if _may_see(j, c, actor)]


def result_file(rt, job_id: str, actor: Actor) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of a done job's result, audited; NotFound for anyone but the
    requester and administrators (the file's existence is not told to others)."""
    with rt.uow() as s:
        job, case = _row(s, job_id)
        if job.status != "done" or job.result_attachment_id is None or not _may_download(job, case, actor):
            raise NotFound(f"no result file for job {job_id}", "没有可下载的结果文件")
        att = s.get(Attachment, job.result_attachment_id)
        if att is None:
            raise NotFound(f"no result file for job {job_id}", "没有可下载的结果文件")
        chain, case_id = job_chain(s, job)
        audit.append(s, chain=chain, case_id=case_id, actor=actor.username, action="job_result_downloaded",
                     task_id=job.id, task_name=job.title,
                     detail={"filename": att.filename, "sha256": att.sha256, "size": att.size}, now=rt.now())
        return att.filename, att.content_type, att.content


def submit(rt, kind: str, actor: Actor, params: dict[str, Any], title: str | None = None) -> str:
    """Queue a job of no case for the actor (audited on the `jobs` chain); returns its id."""
    with rt.uow() as s:
        return enqueue(s, kind, actor=actor.username, now=rt.now(), params=params, title=title,
                       policy=rt_policy(rt)).id


def _with_reference(data: Any, path: tuple[str, ...], ref: dict[str, Any]) -> Any:
    if not path:
        return ref
    return {**data, path[0]: _with_reference(data[path[0]], path[1:], ref)}


def defer_completion(rt, kind: str, task_id: str, actor: Actor, data: dict[str, Any], expected_version: int | None,
                     path: tuple[str, ...], upload: Any, title: str) -> str:
    """Queue the completion of a user task whose form carries a large file: the same checks as
    `complete_task` makes first (the task is open, the actor may complete it, the case is running
    and unchanged), the file stored with the case and the task (the job's handler deletes it if
    the completion is refused), the job queued — one transaction, audited. The job's handler then
    completes the task with `data` as the person would have (engine.services.roll_import)."""
    from engine.attachments import reference, store_attachment

    from .errors import Conflict, Forbidden

    refused = None
    with rt.uow() as s:
        ht, case, claim, _calendar_mark = rt._task_to_complete(s, task_id, actor)
        try:
            rt._may_complete(s, actor, ht, case, claim, expected_version)
            if s.scalar(select(Job.id).where(Job.kind == kind, Job.case_id == case.id, Job.status != "done")):
                raise Conflict(f"a {kind} job of case {case.case_number} is not finished",
                               "本案件已有一个文件正在后台导入，请等待其完成后再提交")
        except (Forbidden, Conflict) as exc:
            refused = (case.id, case.case_number, ht.title, exc)
        if refused is None:
            now = rt.now()
            att = store_attachment(s, filename=upload.filename, content=upload.content, actor=actor.username,
                                   now=now, case_id=case.id, task_id=task_id, content_type=upload.content_type)
            params = {"task_id": task_id, "attachment_id": att.id, "expected_version": case.version,
                      "data": _with_reference(data, path, reference(att))}
            return enqueue(s, kind, actor=actor.username, now=now, params=params, title=f"{title}：{att.filename}",
                           case=case, policy=rt_policy(rt)).id
    assert refused is not None
    rt.record_refusal(refused[0], refused[1], actor, "complete_task", refused[3], task_id, refused[2])
    raise refused[3]


def _refers(data: Any, attachment_id: int) -> bool:
    if isinstance(data, dict):
        return data.get("attachment_id") == attachment_id or any(_refers(v, attachment_id) for v in data.values())
    if isinstance(data, list):
        return any(_refers(v, attachment_id) for v in data)
    return False


def _case_refers(rt, s: Session, case_id: int | None, attachment_id: int) -> bool:
    case = s.get(Case, case_id) if case_id is not None else None
    return case is not None and _refers(rt._case_view(s, case).data, attachment_id)


def completed_with(rt, case_id: int | None, attachment_id: int) -> str | None:
    """The case's number if its data already refers to the stored file — an earlier attempt
    completed the task and stopped before the job was marked done — else None."""
    with rt.uow() as s:
        if not _case_refers(rt, s, case_id, attachment_id):
            return None
        return s.scalar(select(Case.case_number).where(Case.id == case_id))


def refuse_staged(rt, request: Any, message_zh: str) -> None:
    """A deferred completion was refused: delete the file it stored (a refused file is not kept;
    one the case already refers to is the case's) and say so on the job's chain."""
    with rt.uow() as s:
        att = s.get(Attachment, request.params.get("attachment_id"))
        job = s.get(Job, request.id)
        if job is None:
            return
        if att is not None and not _case_refers(rt, s, job.case_id, att.id):
            s.delete(att)
        chain, case_id = job_chain(s, job)
        audit.append(s, chain=chain, case_id=case_id, actor=job.triggered_by, action="job_refused",
                     task_id=job.id, task_name=job.title, detail={"message_zh": message_zh}, now=rt.now())



RESULT_DAYS_DEFAULT = 7
_EXPIRY_EVERY = timedelta(minutes=10)
_last_expiry: dict[str, datetime] = {}


def result_days() -> int:
    """Days a finished job's result file is kept for download (`HONGWU_JOB_RESULT_DAYS`)."""
    return int(os.environ.get("HONGWU_JOB_RESULT_DAYS", str(RESULT_DAYS_DEFAULT)))


def expire_results(rt, if_due: bool = False, batch: int = 100) -> int:
    """Delete result files of jobs finished more than `result_days()` ago (an export of audit data
    should not sit in the database for ever); the job keeps its result, marked expired, and the
    deletion is audited with it. With `if_due`, at most every ten minutes per process (the worker
    loop and the serve thread call it every round)."""
    now = rt.now()
    if if_due and (last := _last_expiry.get(rt.url)) is not None and now - last < _EXPIRY_EVERY:
        return 0
    _last_expiry[rt.url] = now
    cutoff = now - timedelta(days=result_days())
    with rt.uow() as s:
        expired = list(s.scalars(select(Job).where(Job.status == "done", Job.result_attachment_id.is_not(None),
                                                   Job.updated_at < cutoff).order_by(Job.updated_at).limit(batch)))
        for job in expired:
            att = s.get(Attachment, job.result_attachment_id)
            job.result_attachment_id = None
            if att is not None:
                s.delete(att)
            job.result = json.dumps({**json.loads(job.result or "{}"), "expired": True}, ensure_ascii=False)
            chain, case_id = job_chain(s, job)
            audit.append(s, chain=chain, case_id=case_id, actor="system", action="job_result_expired",
                         task_id=job.id, task_name=job.title, detail={"days": result_days()}, now=now)
        return len(expired)
