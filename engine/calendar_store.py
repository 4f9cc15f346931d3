"""Official holiday schedules as versioned, audited settings (one key per year, global), and the
active calendar every deadline is counted by (engine.domain.holidays).

Every process (web, worker, CLI) checks before running a workflow whether the stored schedules
changed (one indexed read) and rebuilds its calendar only then.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import SettingVersion
from engine.domain.holidays import SOURCE_ZH, HolidayCalendar, YearSchedule, active_calendar, set_active_calendar
from engine.settings_store import get_setting, put_setting, setting_history

KEY_PREFIX = "holiday_schedule:"


def key_for(year: int) -> str:
    return f"{KEY_PREFIX}{year}"


# Versions are only ever added, so the newest id changes whenever a schedule is stored (0: none).
NEWEST = (select(func.coalesce(func.max(SettingVersion.id), 0))
          .where(SettingVersion.key.startswith(KEY_PREFIX), SettingVersion.org_unit_id.is_(None)))


def _latest_mark(session: Session) -> int:
    return int(session.connection().execute(NEWEST).scalar() or 0)


_built_from: tuple[str, int] | None = None  # (database url, newest schedule version id) of the active calendar


def load_calendar(session: Session) -> HolidayCalendar:
    """A calendar of the newest stored version of every year's schedule."""
    keys = session.scalars(select(SettingVersion.key).where(SettingVersion.key.startswith(KEY_PREFIX),
                                                            SettingVersion.org_unit_id.is_(None))
                           .distinct())
    schedules = {}
    for key in keys:
        value = get_setting(session, key, None, None)
        schedules[int(key[len(KEY_PREFIX):])] = YearSchedule.from_value(value.value, value.version)
    return HolidayCalendar(schedules)


def sync(session: Session, mark: int | None = None) -> HolidayCalendar:
    """Make the active calendar match this database's stored schedules. `mark`: the newest
    schedule version (NEWEST) if the caller read it in its own query."""
    global _built_from
    source = (str(session.get_bind().engine.url), _latest_mark(session) if mark is None else int(mark))
    if _built_from != source:
        set_active_calendar(load_calendar(session))
        _built_from = source
    return active_calendar()


def put_schedule(session: Session, schedule: YearSchedule, actor: str, now: datetime) -> YearSchedule:
    """Store a year's schedule as its next version (audited on chain setting:holiday_schedule:<year>:*)."""
    stored = put_setting(session, key_for(schedule.year), None, schedule.as_value(), actor, now)
    return YearSchedule.from_value(stored.value, stored.version)


def schedule_history(session: Session, year: int) -> list[SettingVersion]:
    return setting_history(session, key_for(year), None)


def year_overview(s: Session, year: int) -> dict:
    """Which source decides `year`, and its days off other than weekends / weekend working days."""
    cal = sync(s)
    source = cal.year_source(year)
    sched = cal.schedules.get(year)
    off, on = [], []
    day = date(year, 1, 1)
    while day.year == year:
        rest, _src = cal.day(day)
        if rest and day.weekday() < 5:
            off.append(day.isoformat())
        elif not rest and day.weekday() >= 5:
            on.append(day.isoformat())
        day += timedelta(days=1)
    return {"year": year, "source": source, "source_zh": SOURCE_ZH[source],
            "version": sched.version if sched else None, "basis": sched.source if sched else None,
            "weekday_rest_days": off, "weekend_working_days": on}
