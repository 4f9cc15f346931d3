"""The worker's jobs: claim and fire due timers, resume stuck cases, sign the audit chains,
recount deadlines after a holiday schedule was loaded."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from engine import audit
from engine.db.job_models import Job
from engine.db.models import Case, HumanTask, Timer
from engine.notifications import scan as notification_scan

from .actors import Actor
from .completion import engine_failures
from .errors import Conflict, Forbidden, HongwuError, ValidationFailed
from .invariants import InvariantViolated
from .parts import RuntimeParts
from .retries import retried
from .training import _is_training

# A suspended (or cancelled) case's timers are not claimed: they wait for the case to run again.
_CASE_RUNS = select(Case.id).where(Case.id == Timer.case_id, Case.status == "running").exists()

log = logging.getLogger("hongwu.runtime")


class Timers(RuntimeParts):
    """Timers, the worker's sweeps and deadline recounts (part of `Runtime`)."""

    # --- deadlines ----------------------------------------------------------------------

    def recount_deadlines(self, actor: Actor, dry_run: bool = False, calendar=None):
        """Count pending deadlines again by the stored holiday schedules (engine.runtime.recount);
        one transaction per case. `dry_run` only lists what would move (optionally under `calendar`)."""
        from .recount import recount_pending

        return recount_pending(self, actor, dry_run=dry_run, calendar=calendar)

    def load_holiday_schedule(self, text: str, actor: Actor, source: str = "", dry_run: bool = False):
        """Check and store a year's official holiday schedule, then recount pending deadlines."""
        from .recount import load_schedule

        return load_schedule(self, text, actor, source=source, dry_run=dry_run)
    # --- timers -------------------------------------------------------------------------

    @retried
    def claim_due_timers(self, worker_id: str, limit: int = 50, lease_seconds: int = 120) -> list[tuple[str, int]]:
        """Claim up to `limit` due timers. On PostgreSQL, SKIP LOCKED lets workers claim disjoint sets;
        an expired lease (a crashed worker) makes a timer claimable again."""
        from datetime import timedelta

        now = self.now()
        until = now + timedelta(seconds=lease_seconds)
        claimable = and_(Timer.due_at < now,  # passed, as SpiffWorkflow counts it
                          or_(Timer.claimed_until.is_(None), Timer.claimed_until < now),
                          _CASE_RUNS)  # a suspended case's timers wait for its resumption
        with self.uow() as s:
            pick = select(Timer.id).where(claimable).order_by(Timer.due_at).limit(limit)
            if s.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(s.scalars(pick))
            rows: list[Any] = []
            if ids:
                rows = list(s.execute(update(Timer).where(Timer.id.in_(ids), claimable)
                                 .values(claimed_by=worker_id, claimed_until=until)
                                 .returning(Timer.id, Timer.case_id)).all())
            if len(rows) < limit and _is_training(s):
                rows += self._claim_ahead(s, worker_id, limit - len(rows), now, until)
            return [(r[0], r[1]) for r in rows]

    @staticmethod
    def _claim_ahead(s: Session, worker_id: str, limit: int, now: datetime, until: datetime) -> list:
        """Training databases: timers of cases whose clock was moved forward fall due that much
        earlier in real time (their rows hold the case's own time). Few cases ever are."""
        free = or_(Timer.claimed_until.is_(None), Timer.claimed_until < now)
        pick = (select(Timer.id, Timer.due_at, Case.clock_offset_days).join(Case, Case.id == Timer.case_id)
                .where(Case.clock_offset_days > 0, Case.status == "running", Timer.due_at >= now, free)
                .order_by(Timer.due_at))
        ids = [tid for tid, due, days in s.execute(pick) if due < now + timedelta(days=days)][:limit]
        if not ids:
            return []
        return list(s.execute(update(Timer).where(Timer.id.in_(ids), free)
                              .values(claimed_by=worker_id, claimed_until=until)
                              .returning(Timer.id, Timer.case_id)).all())

    @retried
    def fire_timer(self, timer_id: str, worker_id: str) -> bool:
        """Fire one claimed timer (and any other timer of the case that is due). False if it was
        gone, re-claimed by someone else, or the case moved on first.

        Locks in the one order every writer uses: the case row first, then its timer rows (a
        completion locks the case and then deletes timer rows)."""
        try:
            with self.uow() as s:
                case_id = s.scalar(select(Timer.case_id).where(Timer.id == timer_id, Timer.claimed_by == worker_id))
                if case_id is None:
                    return False
                pg = s.get_bind().dialect.name == "postgresql"
                case = s.get_one(Case, case_id, with_for_update=pg)  # the timer row's case: always there
                q = select(Timer.id).where(Timer.id == timer_id, Timer.claimed_by == worker_id)
                if s.scalar(q.with_for_update() if pg else q) is None:  # the case moved on meanwhile
                    return False
                if case.status != "running":  # suspended since the claim: the timer waits
                    s.execute(update(Timer).where(Timer.id == timer_id).values(claimed_by=None, claimed_until=None))
                    return False
                actor = Actor.system(f"worker:{worker_id}")
                wf, loaded = self.workflow_for(s, case)
                previous, clock, now = self._begin_change(s, case, wf, actor)
                try:
                    with engine_failures():
                        steps, fired = self._run_engine(wf, clock)
                except HongwuError as exc:
                    exc.refused_on = (case.id, case.case_number, None)
                    raise
                if not fired:
                    s.execute(update(Timer).where(Timer.id == timer_id).values(claimed_by=None, claimed_until=None))
                    return False
                try:
                    self._save(s, case, wf, loaded, now, previous=previous)
                except InvariantViolated as exc:
                    exc.refused_on = (case.id, case.case_number, None)
                    raise
                self._audit_fired(s, case, actor, fired, steps, now)
                if case.status == "completed":
                    audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id,
                                 actor=actor.username, action="case_completed", now=now)
                return True
        except (Conflict, IntegrityError):
            return False
        except (InvariantViolated, ValidationFailed, Forbidden) as exc:
            # The firing is refused (a violated invariant, a failing script or service): audited;
            # the lease lets it be retried later.
            if exc.refused_on:  # refused before the case was read: nothing to audit it on
                case_id, case_number, _ = exc.refused_on
                self.record_refusal(case_id, case_number, Actor.system(f"worker:{worker_id}"), "fire_timer", exc)
            return False

    def audit_checkpoint(self, if_due: bool = False):
        """Sign the heads of all audit chains (see engine.audit_anchor). With `if_due`, only when
        the last checkpoint is older than the interval and something was added since."""
        from engine import audit_anchor

        with self.uow() as s:
            if if_due:
                return audit_anchor.checkpoint_if_due(s, self.now())
            return audit_anchor.write_checkpoint(s, self.now())

    def resume_stuck_cases(self, worker_id: str) -> list[str]:
        """Run on the cases left running with nothing to wait for: saved before due timers were
        fired in the same save, they hold a timer SpiffWorkflow readied but never ran. Returns the
        numbers of the cases that moved on."""
        stuck = (select(Case.id).where(Case.status == "running",
                                       ~select(HumanTask.id).where(HumanTask.case_id == Case.id).exists(),
                                       ~select(Timer.id).where(Timer.case_id == Case.id).exists(),
                                       ~select(Job.id).where(Job.case_id == Case.id).exists()))
        with self.uow() as s:
            ids = list(s.scalars(stuck))
        resumed = []
        for case_id in ids:
            try:
                number = self._resume(case_id, worker_id)
            except (HongwuError, SQLAlchemyError) as exc:
                log.error("case %s could not be resumed: %s", case_id, exc)
                self._announce_stuck(case_id, f"恢复失败：{getattr(exc, 'message_zh', None) or exc}"[:300])
                continue
            if number:
                resumed.append(number)
            else:
                self._announce_stuck(case_id, "没有可以继续执行的步骤")
        return resumed

    def _announce_stuck(self, case_id: int, reason: str) -> None:
        """Tell the administrators about a case the worker could not move on (once per case version)."""
        try:
            with self.uow() as s:
                case = s.get(Case, case_id)
                if case is not None and case.status == "running" and not s.scalar(
                        select(func.count()).select_from(HumanTask).where(HumanTask.case_id == case_id)) and not s.scalar(
                        select(func.count()).select_from(Timer).where(Timer.case_id == case_id)):
                    notification_scan.case_stuck(s, case, reason, self.case_clock(case).now())
        except SQLAlchemyError as exc:
            log.error("case %s: the administrators could not be told it is stuck: %s", case_id, exc)

    @retried
    def _resume(self, case_id: int, worker_id: str) -> str | None:
        with self.uow() as s:
            case = s.get(Case, case_id, with_for_update=s.get_bind().dialect.name == "postgresql")
            if case is None or case.status != "running":
                return None
            actor = Actor.system(f"worker:{worker_id}")
            wf, loaded = self.workflow_for(s, case)
            _, clock, now = self._begin_change(s, case, wf, actor)
            with engine_failures():
                steps, fired = self._run_engine(wf, clock)
            if not fired and not steps:
                return None  # stuck for some other reason: left as it is, for a person to look at
            self._save(s, case, wf, loaded, now)  # previous rows read from the database
            self._audit_fired(s, case, actor, fired, steps, now)
            if case.status == "completed":
                audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id,
                             actor=actor.username, action="case_completed", now=now)
            return case.case_number

    def run_due_timers(self, worker_id: str | None = None, batch: int = 50) -> int:
        """Fire every timer due now; returns how many timer claims fired something."""
        worker_id = worker_id or f"w-{uuid.uuid4().hex[:8]}"
        fired = 0
        tried: set[str] = set()
        while True:
            # A timer that could not fire (refused, or its case moved on) is released and would be
            # claimed again at once: try each timer once per run.
            claimed = [c for c in self.claim_due_timers(worker_id, batch) if c[0] not in tried]
            if not claimed:
                return fired
            for timer_id, _case_id in claimed:
                tried.add(timer_id)
                try:
                    fired += self.fire_timer(timer_id, worker_id)
                except (HongwuError, SQLAlchemyError) as exc:
                    # One timer's trouble must not stop the others; its lease expires and it is
                    # tried again by a later run.
                    log.error("timer %s could not be fired: %s", timer_id, exc)
