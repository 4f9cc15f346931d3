"""Count pending deadlines again after a year's holiday schedule was loaded or changed.

Every waiting timer and open task whose due time was a counted period (its row keeps the trigger
day, length and kind) is counted again by the current calendar. A changed due time is written
into the workflow (the timer's value and the data holding it), so that the rows, the case page and
the timers all follow; one transaction per case, each change audited on the case's chain with the
old and new date. A due time never moves earlier onto a moment already passed: such a deadline
keeps its date and is reported as kept. The same step (`refresh_deadlines`) runs in every save of
a case, so a deadline counted before a load but waited on only later is corrected when it appears.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ScalarResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, calendar_store
from engine.db.models import Case, HumanTask, Timer
from engine.domain.holidays import HolidayCalendar, ScheduleError, YearSchedule, active_calendar, parse_schedule
from engine.domain.periods import Period, civil_date, format_civil_date, recount

from .actors import Actor
from .errors import Conflict, Forbidden, ValidationFailed
from .timing import (
    PERIOD_SUFFIX,
    container,
    human_task_due,
    human_task_due_path,
    human_task_period,
    parse_due,
    timer_due,
    timer_due_path,
    timer_period,
)

if TYPE_CHECKING:
    from .parts import RuntimeParts


@dataclass(frozen=True)
class Move:
    """One pending deadline whose due time or note changes."""

    case_id: int
    case_number: str
    what: str  # "timer" | "task"
    row_id: str
    name: str
    old_due: datetime
    new_due: datetime
    old_note: str | None
    new_note: str | None
    kept: bool = False  # the new time would lie in the past: the due time stays

    def line_zh(self) -> str:
        what = "定时" if self.what == "timer" else "任务"
        if self.kept:
            return (f"{self.case_number} {what}「{self.name}」：{_day(self.old_due)} 不变"
                    f"（重算为 {_day(self.new_due)}，已过，不提前）")
        if self.old_due == self.new_due:
            return f"{self.case_number} {what}「{self.name}」：{_day(self.old_due)} 不变，说明更新"
        return f"{self.case_number} {what}「{self.name}」：{_day(self.old_due)} → {_day(self.new_due)}"


def _day(instant: datetime) -> str:
    # A due time is 24:00 of its last day: name that day.
    return format_civil_date(civil_date(instant - timedelta(microseconds=1)))


@dataclass
class RecountReport:
    moves: list[Move] = field(default_factory=list)
    cases_changed: list[str] = field(default_factory=list)
    cases_failed: dict[str, str] = field(default_factory=dict)  # case number → reason (retry later)

    @property
    def moved(self) -> list[Move]:
        return [m for m in self.moves if not m.kept]


def _row_period(row) -> Period:
    return Period(date.fromisoformat(row.period_trigger), row.period_days or 0, row.period_months or 0,
                  row.period_years or 0, row.period_kind or "default")


def plan(session: Session, calendar: HolidayCalendar, now: datetime) -> list[Move]:
    """What would change under `calendar`, read off the rows alone (nothing is written)."""
    moves: list[Move] = []
    sources: tuple[tuple[type[Timer] | type[HumanTask], str, Any], ...] = (
        (Timer, "timer", Timer.spec_name), (HumanTask, "task", HumanTask.title))
    for model, what, name_col in sources:
        rows = session.execute(
            select(model, Case.case_number, name_col).join(Case, Case.id == model.case_id)
            .where(model.period_trigger.is_not(None), model.due_at.is_not(None), Case.status == "running")
            .order_by(Case.id, model.due_at)).all()
        for row, number, name in rows:
            counted = recount(_row_period(row), calendar)
            new_note = counted.note or None
            if counted.due_at == row.due_at and new_note == row.due_note:
                continue
            kept = counted.due_at < row.due_at and counted.due_at <= now
            moves.append(Move(row.case_id, number, what, row.id, name, row.due_at, counted.due_at,
                              row.due_note, new_note, kept))
    return sorted(moves, key=lambda m: (m.case_id, m.what != "timer", m.old_due))


def recount_pending(runtime: RuntimeParts, actor: Actor, *, dry_run: bool = False,
                    calendar: HolidayCalendar | None = None) -> RecountReport:
    """Count every pending deadline again. `calendar` (dry runs only) previews a schedule not
    stored yet; otherwise the stored schedules are used."""
    _admin_only(actor)
    if calendar is not None and not dry_run:
        raise ValueError("a calendar other than the stored one can only be previewed")
    now = runtime.now()
    with runtime.uow() as s:
        cal = calendar or calendar_store.sync(s)
        moves = plan(s, cal, now)
    report = RecountReport(moves)
    if dry_run:
        return report
    by_case: dict[int, str] = {}
    for m in moves:
        if not m.kept:
            by_case[m.case_id] = m.case_number
    for case_id, number in by_case.items():
        try:
            if _recount_case(runtime, case_id, actor):
                report.cases_changed.append(number)
        except Conflict as exc:  # changed meanwhile: the case is left as it was; a later run retries
            report.cases_failed[number] = exc.message_zh
        except ValidationFailed as exc:  # a process invariant refused the moved deadline: audited
            report.cases_failed[number] = exc.message_zh
            runtime.record_refusal(case_id, number, actor, "recount_deadlines", exc)
        except IntegrityError:  # another writer took the same audit-chain position
            report.cases_failed[number] = "案件正被他人同时办理"
    return report


def _recount_case(runtime: RuntimeParts, case_id: int, actor: Actor) -> bool:
    """One case, one transaction: re-read its workflow, count its periods again, save (which
    audits each change)."""
    from .persistence import Derived, _scan

    with runtime.uow() as s:
        case = s.get(Case, case_id, with_for_update=s.get_bind().dialect.name == "postgresql")
        if case is None or case.status != "running":
            return False
        wf, loaded = runtime.workflow_for(s, case)
        wf.script_engine = runtime._engine_for(s, case, actor)  # also brings the calendar up to date
        now = runtime.now()
        previous = Derived.of(wf)
        scanned = _scan(wf)
        changes = refresh_deadlines(wf, scanned, now)
        if not changes:
            return False
        runtime._save(s, case, wf, loaded, now, previous=previous, recounted=changes, scanned=scanned)
        return True


@dataclass(frozen=True)
class Recounted:
    what: str  # "timer" | "task"
    task_id: str
    task_name: str
    old_due: datetime
    new_due: datetime
    old_note: str | None
    new_note: str | None
    period: dict


def refresh_deadlines(wf, scanned, now: datetime) -> list[Recounted]:
    """Bring every waiting timer and ready task whose due time is a counted period up to date
    with the active calendar, in the workflow itself (the timer's value and the data holding
    the due time). Run on every save, so that a deadline counted before a schedule was loaded
    is corrected when its timer or task appears; `hongwu calendar recount` does it for the
    ones already waiting. Never moves a due time earlier onto a moment already passed."""
    ready, waiting = scanned
    live = None
    changes: list[Recounted] = []

    def recount_at(task, path, period, old_due, what):
        nonlocal live
        if not path or not period or old_due is None:
            return None
        counted = recount(Period.from_dict(period))
        if counted.due_at < old_due and counted.due_at <= now:
            return None
        holder = container(task.data, path)
        old_note = (holder or {}).get(path[-1] + "_note") or None
        if counted.due_at == old_due and (counted.note or None) == old_note:
            return None
        if live is None:
            live = [t for w in (wf, *wf.subprocesses.values()) for t in w.tasks.values()
                    if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED)]
            if wf.last_task is not None and wf.last_task not in live:
                live.append(wf.last_task)  # what the case shows as its data while nothing is ready
        _write(live, path, old_due, counted)
        changes.append(Recounted(what, str(task.id), task.task_spec.bpmn_name or task.task_spec.name, old_due,
                                 counted.due_at, old_note, counted.note or None, period))
        return counted

    for t in waiting.values():
        counted = recount_at(t, timer_due_path(t), timer_period(t), timer_due(t), "timer")
        if counted is not None:
            t._set_internal_data(event_value=counted.iso())
    for t in ready.values():  # tasks due by their own data variable (boundary timers moved above)
        path = human_task_due_path(t)
        if path and t.data.get(path[0]):
            recount_at(t, path, human_task_period(t), human_task_due(t), "task")
    return changes


def audit_recounted(s: Session, case: Case, actor: str, changes: list[Recounted], now: datetime) -> None:
    """Each moved deadline on the case's chain with its old and new date (same transaction)."""
    refresh_notes(s, case.id)
    schedules = {str(y): v for y, v in active_calendar().fingerprint()}
    for c in changes:
        audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor,
                     action="deadline_recounted", task_id=c.task_id, task_name=c.task_name,
                     before={"due": c.old_due.isoformat(), "note": c.old_note},
                     after={"due": c.new_due.isoformat(), "note": c.new_note},
                     detail={"what": c.what, "period": c.period, "schedules": schedules}, now=now)


def _write(live: list, path: list[str], old_due: datetime, counted) -> None:
    """Put the new due time (and its note) wherever the live tasks hold the old one, including
    the copies in `case_summary` that reports read (overdue lists)."""
    key = path[-1]
    for task in live:
        if isinstance(task.data.get("case_summary"), dict):
            task.data["case_summary"] = _replaced(task.data["case_summary"], old_due.isoformat(), counted.iso())
        holder = container(task.data, path)
        if holder is None or _parse(holder.get(key)) != old_due:
            continue
        holder[key] = counted.iso()
        if key + "_note" in holder:
            holder[key + "_note"] = counted.note
        if key + PERIOD_SUFFIX in holder and key == "due":  # a whole Deadline.as_data dict
            holder.update({k: v for k, v in counted.as_data().items() if k in holder and k != "due_period"})


def _replaced(value, old: str, new: str):
    if isinstance(value, dict):
        return {k: _replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, old, new) for v in value]
    return new if value == old else value


def _parse(value) -> datetime | None:
    return parse_due(value) if isinstance(value, str) else None


def refresh_notes(s: Session, case_id: int) -> None:
    """Rows whose due time stayed but whose note changed (e.g. the year is now covered)."""
    models: tuple[type[Timer] | type[HumanTask], ...] = (Timer, HumanTask)
    for model in models:
        # select() of a union of mapped classes is typed as their common Base.
        rows = cast("ScalarResult[Timer | HumanTask]",
                    s.scalars(select(model).where(model.case_id == case_id, model.period_trigger.is_not(None))))
        for row in rows:
            note = recount(_row_period(row)).note or None
            if note != row.due_note:
                s.execute(update(model).where(model.id == row.id).values(due_note=note)
                          .execution_options(synchronize_session=False))


# --- loading a year's schedule ----------------------------------------------------------------

@dataclass
class LoadResult:
    schedule: YearSchedule
    stored: bool  # False: a dry run, or the same arrangement was already loaded
    report: RecountReport


def _admin_only(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("only administrators may load holiday schedules", "仅系统管理员可以加载放假安排")


def read_schedule(text: str, source: str = "") -> YearSchedule:
    """Parse a schedule file; problems become one ValidationFailed listing every line."""
    try:
        return parse_schedule(text, source)
    except ScheduleError as exc:
        details = [{"field": f"line {p.line}" if p.line else "file",
                    "message": f"line {p.line}" if p.line else "whole file", "message_zh": str(p)}
                   for p in exc.problems]
        raise ValidationFailed("the holiday schedule file is invalid; nothing was loaded",
                               "放假安排文件有误，未加载：" + "；".join(str(p) for p in exc.problems),
                               details=details) from None


def load_schedule(runtime: RuntimeParts, text: str, actor: Actor, *, source: str = "",
                  dry_run: bool = False) -> LoadResult:
    """Check, store (a new audited version) and then count pending deadlines again. A dry run
    stores nothing and lists what would move under the new schedule."""
    _admin_only(actor)
    schedule = read_schedule(text, source)
    with runtime.uow() as s:
        current = calendar_store.load_calendar(s)
        if dry_run:
            preview = current.with_schedule(schedule)
    if dry_run:
        return LoadResult(schedule, False, recount_pending(runtime, actor, dry_run=True, calendar=preview))
    old = current.schedules.get(schedule.year)
    stored = old is None or old.as_value() != schedule.as_value()
    if stored:
        with runtime.uow() as s:
            schedule = calendar_store.put_schedule(s, schedule, actor.username, runtime.now())
    elif old is not None:  # the same schedule again: keep the stored one (its version and source)
        schedule = old
    # The schedule is committed first: should a case fail here, `hongwu calendar recount` finishes.
    return LoadResult(schedule, stored, recount_pending(runtime, actor))
