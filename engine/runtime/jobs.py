"""Async continuations: steps of a case that run on the worker instead of in the request.

An activity marked in the BPMN with the extension property `hongwu:async` = "true" is not run by
the unit of work that reaches it. The engine stops in front of it (the task stays READY), the case
is saved, and the save writes a job row for it (derived from the workflow like a timer row).
`hongwu worker` and the serve thread claim due jobs with a lease (FOR UPDATE SKIP LOCKED on
PostgreSQL, as timers), run the step and what follows it, and save the case with its version
check in one transaction: the step's effects (documents, rows) commit once or not at all.

A failed attempt rolls back and is counted on the job row with the Chinese message and the stack
trace; the next attempt waits an exponentially growing back-off. When the attempts are spent the
job becomes an *incident* on the case (engine.runtime.incidents): an operator retries it or, where
the process allows (`hongwu:skippable`), skips the step with a reason.

Other properties on the same activity: `hongwu:retries` (attempts before an incident, 1…10).

Jobs of other *kinds* use the same rows, claims, leases, progress, back-off and incidents. A kind
is registered with `register_kind` by the module that owns the work (a large owner-roll import,
`engine.services.roll_import`; a bulk audit export, `engine.web.audit_export`); `enqueue` writes
its row with JSON parameters. A worker claims only the kinds registered in its process and runs
the handler outside any transaction of the job's own: the handler opens its units of work (its
effects commit with their audit events), reports progress through the same reporter, and returns
a `JobOutcome`; the row is then marked done with the result (and the result file, stored as an
attachment) and `job_completed` is appended — to the case's chain when the job belongs to a case,
else to the `jobs` chain. A raised error is an attempt failed, counted exactly as a
continuation's; skipping makes sense only for continuations.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from engine import audit
from engine.attachments import store_attachment
from engine.db.job_models import CONTINUATION, Job
from engine.db.models import Case
from engine.db.session import engine_for

from .errors import Conflict, DeployError, HongwuError

log = logging.getLogger("hongwu.jobs")

ASYNC_PROPERTY = "hongwu:async"
SKIPPABLE_PROPERTY = "hongwu:skippable"
RETRIES_PROPERTY = "hongwu:retries"
_RELEASED = "hongwu_async_released"  # task internal data: this run may execute the held step
# ServiceContext.extra flag: run async steps in this unit of work (a training clock's advance: the
# days pass, and the worker would have run them on the way).
INLINE = "run_async_inline"
MAX_RETRIES = 10
# A running job renews its lease with every progress report; a worker killed mid-job loses it.
LEASE_SECONDS = int(os.environ.get("HONGWU_JOB_LEASE_SECONDS", "120"))


@dataclass(frozen=True)
class JobPolicy:
    """Attempts before an incident, and the back-off between them (doubling, capped)."""

    attempts: int = 3
    backoff_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0

    @classmethod
    def from_env(cls) -> JobPolicy:
        return cls(attempts=int(os.environ.get("HONGWU_JOB_ATTEMPTS", "3")),
                   backoff_seconds=float(os.environ.get("HONGWU_JOB_BACKOFF_SECONDS", "30")))

    def delay(self, failed_attempts: int) -> timedelta:
        """Wait before the next attempt after `failed_attempts` failures: base, 2×base, 4×base…"""
        return timedelta(seconds=min(self.backoff_seconds * 2 ** max(0, failed_attempts - 1),
                                     self.backoff_cap_seconds))


# --- the BPMN side --------------------------------------------------------------------------

def _props(task_spec) -> dict[str, str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}


def is_async(task_spec) -> bool:
    return str(_props(task_spec).get(ASYNC_PROPERTY, "")).strip().lower() == "true"


def is_skippable(task_spec) -> bool:
    return str(_props(task_spec).get(SKIPPABLE_PROPERTY, "")).strip().lower() == "true"


def attempts_for(task_spec, policy: JobPolicy) -> int:
    value = _props(task_spec).get(RETRIES_PROPERTY)
    return int(value) if value else policy.attempts


def check_properties(task_spec, where: str) -> None:
    """Deploy-time check of the async properties of one task spec (DeployError naming it)."""
    from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
    from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
    from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
    from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway

    props = _props(task_spec)
    for name in (ASYNC_PROPERTY, SKIPPABLE_PROPERTY):
        value = props.get(name)
        if value is not None and str(value).strip().lower() not in ("true", "false"):
            raise DeployError(f"{where}: property {name} must be \"true\" or \"false\", not {value!r}",
                              f"{where}：属性 {name} 只能为 \"true\" 或 \"false\"（现为 {value!r}）")
    retries = props.get(RETRIES_PROPERTY)
    if retries is not None:
        text = str(retries).strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_RETRIES:
            raise DeployError(f"{where}: property {RETRIES_PROPERTY} must be a whole number 1…{MAX_RETRIES}, not {retries!r}",
                              f"{where}：属性 {RETRIES_PROPERTY} 应为 1～{MAX_RETRIES} 的整数（现为 {retries!r}）")
    marked = is_async(task_spec)
    if (retries is not None or is_skippable(task_spec)) and not marked:
        raise DeployError(f"{where}: {RETRIES_PROPERTY} / {SKIPPABLE_PROPERTY} need {ASYNC_PROPERTY}=\"true\"",
                          f"{where}：属性 {RETRIES_PROPERTY}、{SKIPPABLE_PROPERTY} 只能用于标记了 {ASYNC_PROPERTY} 的环节")
    if not marked:
        return
    # Only activities: an event or gateway has no work of its own to move off the request.
    if task_spec.manual or isinstance(task_spec, (CatchingEvent, ThrowingEvent, ExclusiveGateway,
                                                  InclusiveGateway, ParallelGateway)) \
            or not getattr(task_spec, "bpmn_id", None):
        raise DeployError(f"{where}: only service, script and other automatic activities may be {ASYNC_PROPERTY}",
                          f"{where}：只有服务任务、脚本任务等自动执行的环节可以标记为异步（{ASYNC_PROPERTY}）")


def held(task) -> bool:
    """A ready async step the engine must not run in this unit of work."""
    if not is_async(task.task_spec) or task._get_internal_data(_RELEASED):
        return False
    context = getattr(getattr(task.workflow, "script_engine", None), "service_context", None)
    return not (context is not None and context.extra.get(INLINE))


def engine_steps(wf, will_complete_task: Callable | None = None, did_complete_task: Callable | None = None) -> bool:
    """SpiffWorkflow's `_do_engine_steps`, leaving held async steps READY for their job."""

    def update_workflow(w) -> int:
        count = 0
        for task in w.get_tasks(state=TaskState.READY):
            if task.task_spec.manual or held(task):
                continue
            if will_complete_task is not None:
                will_complete_task(task)
            task.run()
            count += 1
            if did_complete_task is not None:
                did_complete_task(task)
        return count

    active = wf.get_active_subprocesses()
    for sub in sorted(active, key=lambda v: v.depth, reverse=True):
        count = None
        while count is None or count > 0:
            count = update_workflow(sub)
        if sub.parent_task_id is not None:
            task = wf.get_task_from_id(sub.parent_task_id)
            task.task_spec._update(task)
    count = update_workflow(wf)
    return count > 0 or len(wf.get_active_subprocesses()) > len(active)


def engine_work_ready(wf) -> bool:
    """Is any task ready that the engine (not a person, not a job) runs now?"""
    return any(t.state == TaskState.READY and not t.task_spec.manual and not held(t)
               for w in (wf, *wf.subprocesses.values()) for t in w.tasks.values())


def held_tasks(wf) -> dict[str, Any]:
    return {str(t.id): t for w in (wf, *wf.subprocesses.values()) for t in w.tasks.values()
            if t.state == TaskState.READY and held(t)}


def has_async(loaded) -> bool:
    """Does a definition mark any step async (cached on it: only then do saves look at jobs)?"""
    found = getattr(loaded, "_has_async", None)
    if found is None:
        found = any(is_async(ts) for s in (loaded.spec, *loaded.subprocess_specs.values())
                    for ts in s.task_specs.values())
        loaded._has_async = found
    return found


_JOB_IDS = select(Job.id).where(Job.case_id == bindparam("case_id"), Job.kind == CONTINUATION)
_DELETE_JOBS = (delete(Job).where(Job.id.in_(bindparam("ids", expanding=True)))
                .execution_options(synchronize_session=False))


def sync_jobs(s: Session, case: Case, wf, loaded, now: datetime, actor: str,
              policy: JobPolicy | None = None) -> list[str]:
    """Make the case's job rows match its held async steps (in the save's transaction). Rows of
    steps still held are kept as they are (attempts, incident); returns the new jobs' ids."""
    if not has_async(loaded):
        return []
    policy = policy or JobPolicy.from_env()
    wanted = held_tasks(wf)
    conn = s.connection()
    existing = set(conn.execute(_JOB_IDS, {"case_id": case.id}).scalars())
    gone = [tid for tid in existing if tid not in wanted]
    if gone:
        conn.execute(_DELETE_JOBS, {"ids": gone})
    new = [dict(id=tid, kind=CONTINUATION, case_id=case.id, spec_name=t.task_spec.bpmn_id or t.task_spec.name,
                title=(t.task_spec.bpmn_name or t.task_spec.name)[:200], status="pending", attempts=0,
                max_attempts=attempts_for(t.task_spec, policy), skippable=int(is_skippable(t.task_spec)),
                run_at=now, claimed_by=None, claimed_until=None, triggered_by=actor[:64], created_at=now,
                progress_done=0, progress_total=0, started_at=None, updated_at=None,
                last_error=None, last_trace=None, incident_at=None, params=None, result=None,
                result_attachment_id=None)
           for tid, t in wanted.items() if tid not in existing]
    if new:
        conn.execute(cast(Table, Job.__table__).insert(), new)
    return [d["id"] for d in new]


# --- progress --------------------------------------------------------------------------------

# Progress of jobs running in this process, for SQLite: there the running job's transaction holds
# the only write lock, so a second connection could not write the row until the job ends.
_LIVE: dict[str, tuple[int, int, datetime]] = {}
_LIVE_LOCK = threading.Lock()


def live_progress(job_id: str) -> tuple[int, int, datetime] | None:
    with _LIVE_LOCK:
        return _LIVE.get(job_id)


class ProgressReporter:
    """Called as (done, total) by a long step; writes the job row's progress (and renews the
    worker's lease) on a connection of its own, so a reader sees it while the step's transaction
    is still open. At most a few writes a second."""

    def __init__(self, url: str, job_id: str, worker_id: str, clock, min_interval: float = 0.5):
        self.url, self.job_id, self.worker_id, self.clock = url, job_id, worker_id, clock
        self.min_interval = min_interval
        self._last = 0.0
        self.sqlite = url.startswith("sqlite")

    def __call__(self, done: int, total: int) -> None:
        now = self.clock.now()
        with _LIVE_LOCK:
            _LIVE[self.job_id] = (done, total, now)
        if self.sqlite:
            return
        if done < total and time.monotonic() - self._last < self.min_interval:
            return
        self._last = time.monotonic()
        try:
            with engine_for(self.url).begin() as conn:
                conn.execute(update(Job).where(Job.id == self.job_id, Job.claimed_by == self.worker_id)
                             .values(progress_done=done, progress_total=total, updated_at=now,
                                     claimed_until=now + timedelta(seconds=LEASE_SECONDS)))
        except SQLAlchemyError as exc:  # progress is a courtesy: never fail the step over it
            log.warning("job %s: progress not written: %s", self.job_id, exc)

    def close(self) -> None:
        with _LIVE_LOCK:
            _LIVE.pop(self.job_id, None)


def progress_view(job: Job, now: datetime) -> dict[str, Any]:
    """What the progress bar shows: done/total, percent and an estimate of the time left."""
    done, total, updated = job.progress_done, job.progress_total, job.updated_at
    live = live_progress(job.id)
    if live is not None:
        done, total, updated = live
    eta = None
    if job.started_at and total and 0 < done < total and updated:
        spent = (updated - job.started_at).total_seconds()
        eta = max(0, round(spent / done * (total - done) - (now - updated).total_seconds()))
    running = bool(job.claimed_until and job.claimed_until > now and job.status == "pending")
    return {"id": job.id, "kind": job.kind, "title": job.title, "status": job.status, "running": running,
            "done": done, "total": total, "percent": round(100 * done / total) if total else 0,
            "eta_seconds": eta, "attempts": job.attempts, "max_attempts": job.max_attempts,
            "run_at": job.run_at.isoformat() if job.run_at else None, "error": job.last_error,
            "triggered_by": job.triggered_by}


# --- kinds other than continuations ----------------------------------------------------------

JOBS_CHAIN = "jobs"  # audit chain of jobs that belong to no case


@dataclass(frozen=True)
class JobRequest:
    """What a handler is given: the row's id, kind, parameters, who queued it, its case (if any)."""

    id: str
    kind: str
    params: dict[str, Any]
    triggered_by: str
    case_id: int | None
    attempt: int


@dataclass
class JobOutcome:
    """What a handler returns: the result the person sees (JSON-able) and, optionally, a file."""

    result: dict[str, Any] = field(default_factory=dict)
    filename: str | None = None
    content: bytes | None = None
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str  # Chinese, as the person knows the work
    run: Callable[[Any, JobRequest, Callable[[int, int], None]], JobOutcome]
    attempts: int | None = None  # default: the policy's


_KINDS: dict[str, JobKind] = {}
MAX_RESULT_BYTES = 200 * 1024 * 1024  # an export file kept for download (uploads stop at 20 MB)


def register_kind(name: str, title: str, attempts: int | None = None):
    """Decorator: `run(rt, request, progress) -> JobOutcome` handles jobs of kind `name`."""
    def wrap(fn):
        _KINDS[name] = JobKind(name, title, fn, attempts)
        return fn
    return wrap


def kind_title(kind: str) -> str:
    found = _KINDS.get(kind)
    return found.title if found else kind


def enqueue(s: Session, kind: str, *, actor: str, now: datetime, params: dict[str, Any], title: str | None = None,
            case: Case | None = None, policy: JobPolicy | None = None) -> Job:
    """Queue a job of a registered kind in the caller's transaction (with the caller's audit
    event: the caller appends `job_queued` or its own)."""
    spec = _KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown job kind {kind!r}")
    policy = policy or JobPolicy.from_env()
    job = Job(id=str(uuid4()), kind=kind, case_id=case.id if case is not None else None, spec_name=kind,
              title=(title or spec.title)[:200], status="pending", attempts=0,
              max_attempts=spec.attempts or policy.attempts, skippable=0, run_at=now, triggered_by=actor[:64],
              created_at=now, progress_done=0, progress_total=0, params=json.dumps(params, ensure_ascii=False))
    s.add(job)
    s.flush()
    chain, case_id = job_chain(s, job)
    audit.append(s, chain=chain, case_id=case_id, actor=actor, action="job_queued", task_id=job.id,
                 task_name=job.title, detail={"kind": kind}, now=now)
    return job


def job_chain(s: Session, job: Job) -> tuple[str, int | None]:
    """The audit chain a job's events go to: its case's, or the `jobs` chain."""
    if job.case_id is None:
        return JOBS_CHAIN, None
    number = s.scalar(select(Case.case_number).where(Case.id == job.case_id))
    return audit.case_chain(number or ""), job.case_id


# --- running ---------------------------------------------------------------------------------

def claim_due_jobs(rt, worker_id: str, limit: int = 5, lease_seconds: int = LEASE_SECONDS) -> list[str]:
    """Claim up to `limit` pending jobs whose back-off has passed and whose lease (if any) ran out.
    SKIP LOCKED lets workers on PostgreSQL claim disjoint jobs."""
    now = rt.now()
    until = now + timedelta(seconds=lease_seconds)
    # A worker leaves the kinds it has no handler for to one that has (e.g. the serve thread).
    claimable = (Job.status == "pending") & (Job.run_at <= now) & \
        or_(Job.claimed_until.is_(None), Job.claimed_until < now) & Job.kind.in_([CONTINUATION, *_KINDS])
    with rt.uow() as s:
        pick = select(Job.id).where(claimable).order_by(Job.run_at, Job.created_at).limit(limit)
        if s.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = list(s.scalars(pick))
        if not ids:
            return []
        rows = s.execute(update(Job).where(Job.id.in_(ids), claimable)
                         .values(claimed_by=worker_id, claimed_until=until, started_at=now, updated_at=now,
                                 progress_done=0, progress_total=0)
                         .returning(Job.id)).all()
        return [r[0] for r in rows]


def run_job(rt, job_id: str, worker_id: str) -> str:
    """Run one claimed job: "done", "gone" (the case moved on, or another worker has it), or
    "failed" / "incident" after a failed attempt (recorded in a transaction of its own)."""
    with rt.uow() as s:
        kind = s.scalar(select(Job.kind).where(Job.id == job_id))
    if kind is None:
        return "gone"
    if kind == CONTINUATION:
        return _run_continuation(rt, job_id, worker_id)
    return _run_kind(rt, job_id, worker_id)


def _run_kind(rt, job_id: str, worker_id: str) -> str:
    """A job of a registered kind: the handler's work, then the row marked done with its result."""
    reporter = ProgressReporter(rt.url, job_id, worker_id, rt.clock)
    started = time.monotonic()
    try:
        with rt.uow() as s:
            job = s.get(Job, job_id)
            if job is None or job.claimed_by != worker_id or job.status != "pending" or job.kind not in _KINDS:
                return "gone"
            request = JobRequest(job.id, job.kind, json.loads(job.params or "{}"), job.triggered_by, job.case_id,
                                 job.attempts + 1)
        outcome = _KINDS[request.kind].run(rt, request, reporter)
        with rt.uow() as s:
            job = s.get(Job, job_id, with_for_update=s.get_bind().dialect.name == "postgresql")
            if job is None or job.claimed_by != worker_id:
                return "gone"
            now = rt.now()
            if outcome.content is not None:
                att = store_attachment(s, filename=outcome.filename or "result", content=outcome.content,
                                       actor=job.triggered_by, now=now, case_id=job.case_id,
                                       content_type=outcome.content_type, max_bytes=MAX_RESULT_BYTES)
                job.result_attachment_id = att.id
            live = live_progress(job_id)
            job.progress_total = (live[1] if live else job.progress_total) or 1
            job.progress_done = job.progress_total  # done is all of it
            job.status, job.result, job.updated_at = "done", json.dumps(outcome.result, ensure_ascii=False), now
            job.claimed_by = job.claimed_until = None
            chain, case_id = job_chain(s, job)
            audit.append(s, chain=chain, case_id=case_id, actor=f"worker:{worker_id}", action="job_completed",
                         task_id=job.id, task_name=job.title,
                         detail={"kind": job.kind, "attempt": job.attempts + 1,
                                 "seconds": round(time.monotonic() - started, 3)}, now=now)
        return "done"
    except Exception as exc:  # the attempt failed: count it as a continuation's is counted
        return record_failure(rt, job_id, worker_id, exc)
    finally:
        reporter.close()


def _run_continuation(rt, job_id: str, worker_id: str) -> str:
    from .actors import Actor
    from .service import Derived

    reporter = ProgressReporter(rt.url, job_id, worker_id, rt.clock)
    started = time.monotonic()
    try:
        with rt.uow() as s:
            case_id = s.scalar(select(Job.case_id).where(Job.id == job_id))
            if case_id is None:
                return "gone"
            pg = s.get_bind().dialect.name == "postgresql"
            case = s.get(Case, case_id, with_for_update=pg)  # the one lock order: the case first
            job = s.get(Job, job_id)
            if job is None or job.claimed_by != worker_id or job.status != "pending" or case.status != "running":
                return "gone"
            wf, loaded = rt.workflow_for(s, case)
            task = wf.get_task_from_id(UUID(job_id))
            if task is None or task.state != TaskState.READY:
                s.delete(job)  # a row left behind by a change that did not go through the save
                return "gone"
            actor = Actor.system(f"worker:{worker_id}")
            wf.script_engine = rt._engine_for(s, case, actor)
            wf.script_engine.service_context.extra["progress"] = reporter
            wf.script_engine.service_context.extra["job"] = job_id
            previous = Derived.of(wf)
            clock = rt.case_clock(case)
            now = clock.now()
            task._set_internal_data(**{_RELEASED: True})
            steps, fired = rt._run_engine(wf, clock)  # a failure is told from its cause (failure_message)
            rt._save(s, case, wf, loaded, now, previous=previous)  # the version check; deletes the row
            chain = audit.case_chain(case.case_number)
            audit.append(s, chain=chain, case_id=case.id, actor=actor.username, action="job_completed",
                         task_id=job_id, task_name=job.title,
                         detail={"attempt": job.attempts + 1, "steps": steps,
                                 "seconds": round(time.monotonic() - started, 3)}, now=now)
            rt._audit_fired(s, case, Actor.system(), fired, steps, now)
            if case.status == "completed":
                audit.append(s, chain=chain, case_id=case.id, actor=actor.username, action="case_completed", now=now)
            view_id, version = case.id, case.version
        rt._workflows.put(view_id, version, wf)
        return "done"
    except (Conflict, IntegrityError):
        return "gone"  # someone else changed the case first: this attempt kept nothing
    except Exception as exc:  # the step failed: nothing of it was kept; count the attempt
        return record_failure(rt, job_id, worker_id, exc)
    finally:
        reporter.close()


def failure_message(exc: BaseException) -> str:
    """What went wrong, in Chinese: the first of our own errors in the chain (a service's
    refusal), else the innermost error (SpiffWorkflow wraps what the step raised)."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    own = next((e for e in chain if isinstance(e, HongwuError)), None)
    if own is not None:
        return own.message_zh
    root = chain[-1]
    if isinstance(root, SQLAlchemyError) or any(isinstance(e, SQLAlchemyError) for e in chain):
        return "数据库暂时不可用，稍后自动重试"
    return f"执行出错（{type(root).__name__}）：{str(root)[:300]}"


def record_failure(rt, job_id: str, worker_id: str, exc: BaseException) -> str:
    """Count a failed attempt: back off, or raise an incident once the attempts are spent. The
    job row and the case's audit event commit together."""
    message = failure_message(exc)
    trace = "".join(traceback.format_exception(exc))[-20000:]
    log.warning("job %s failed: %s", job_id, message)
    with rt.uow() as s:
        pg = s.get_bind().dialect.name == "postgresql"
        case_id = s.scalar(select(Job.case_id).where(Job.id == job_id))
        if case_id is not None:
            s.get(Case, case_id, with_for_update=pg)  # the one lock order: the case first
        job = s.get(Job, job_id, with_for_update=pg)
        if job is None or job.claimed_by != worker_id:
            return "gone"
        now = rt.now()
        job.attempts += 1
        job.last_error, job.last_trace = message, trace
        job.claimed_by = job.claimed_until = None
        job.updated_at = now
        chain, case_id = job_chain(s, job)
        if job.attempts >= job.max_attempts:
            job.status, job.incident_at = "incident", now
            audit.append(s, chain=chain, case_id=case_id, actor=f"worker:{worker_id}", action="incident_raised",
                         task_id=job.id, task_name=job.title,
                         detail={"attempts": job.attempts, "message_zh": message}, now=now)
            return "incident"
        job.run_at = now + rt_policy(rt).delay(job.attempts)
        audit.append(s, chain=chain, case_id=case_id, actor=f"worker:{worker_id}", action="job_failed",
                     task_id=job.id, task_name=job.title,
                     detail={"attempt": job.attempts, "message_zh": message, "retry_at": job.run_at.isoformat()},
                     now=now)
        return "failed"


def rt_policy(rt) -> JobPolicy:
    policy = getattr(rt, "job_policy", None)
    if policy is None:
        policy = rt.job_policy = JobPolicy.from_env()
    return policy


def run_due_jobs(rt, worker_id: str, batch: int = 5, limit: int | None = None) -> int:
    """Claim and run due jobs until none is left (or `limit` ran); returns how many completed."""
    done = 0
    ran = 0
    tried: set[str] = set()
    while limit is None or ran < limit:
        claimed = [j for j in claim_due_jobs(rt, worker_id, batch) if j not in tried]
        if not claimed:
            return done
        for job_id in claimed:
            tried.add(job_id)
            ran += 1
            try:
                done += run_job(rt, job_id, worker_id) == "done"
            except (HongwuError, SQLAlchemyError) as exc:  # e.g. the database went away mid-record
                log.error("job %s could not be run: %s", job_id, exc)
    return done


def case_jobs(s: Session, case_id: int) -> list[Job]:
    return list(s.scalars(select(Job).where(Job.case_id == case_id).order_by(Job.created_at, Job.id)))


def ids_of(jobs: Iterable[Job]) -> list[str]:
    return [j.id for j in jobs]
