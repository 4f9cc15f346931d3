"""Statutory periods and deadlines (Civil Code Arts. 200–204).

- A period in days starts the day AFTER the triggering event (Art. 201) and ends at 24:00 of its
  last day (Art. 203).
- A period in months (or years) ends on the corresponding day of the last month, or on that
  month's last day when it has none (Art. 202).
- A last day that is a statutory rest day (weekend or public holiday, with adjusted working days
  counting as working days) moves to the next working day (Art. 203). Which days are rest days is
  decided by `engine.domain.holidays` (loaded State Council schedule > `chinese_calendar` package >
  the 《全国年节及纪念日放假办法》 itself); a deadline that rests on the last says so in `Deadline.note`.
- Other rules may set other periods (Art. 204): `RULES` holds the rule per deadline kind.

Calendar days are counted in Asia/Shanghai; the resulting instant is returned in UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from engine.domain.holidays import SOURCE_STATUTE, HolidayCalendar, active_calendar

CIVIL_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class PeriodRule:
    """How one kind of deadline is counted. `move_off_rest_days` False = calendar days as-is
    (e.g. a publicity period that a local rule says runs over holidays)."""

    move_off_rest_days: bool = True


# Deadline kinds used by the processes; a kind not listed follows the Civil Code default.
RULES: dict[str, PeriodRule] = {
    "default": PeriodRule(),
    "publicity": PeriodRule(),
    "meeting_notice": PeriodRule(),
    "voting": PeriodRule(),
    "filing": PeriodRule(),
    "first_meeting": PeriodRule(),
    "review": PeriodRule(),
    "mediation": PeriodRule(),
    "judicial_confirmation": PeriodRule(),
    "follow_up": PeriodRule(),
    "renewal_reminder": PeriodRule(move_off_rest_days=False),
}


@dataclass(frozen=True)
class Period:
    """What a deadline was counted from, so that it can be counted again when the holiday
    schedule of its year becomes known: the civil trigger day, the length and the rule kind."""

    trigger: date
    days: int = 0
    months: int = 0
    years: int = 0
    kind: str = "default"

    def as_dict(self) -> dict:
        return {"trigger": self.trigger.isoformat(), "days": self.days, "months": self.months,
                "years": self.years, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict) -> Period:
        return cls(date.fromisoformat(d["trigger"]), int(d.get("days") or 0), int(d.get("months") or 0),
                   int(d.get("years") or 0), str(d.get("kind") or "default"))


@dataclass(frozen=True)
class Deadline:
    last_day: date  # civil date of the last day, after moving off rest days
    due_at: datetime  # 24:00 of last_day in Asia/Shanghai, as UTC
    calendar_covered: bool  # False: some day it rests on had no official schedule (statutory fallback)
    note: str = ""
    period: Period | None = None

    def iso(self) -> str:
        return self.due_at.isoformat()

    def fields(self, key: str) -> dict:
        """`key` (the due, ISO UTC) with `<key>_period` and `<key>_note` beside it: how processes
        keep a deadline in task data so that it can be counted again (engine.runtime.timing)."""
        return {key: self.iso(), f"{key}_period": self.period.as_dict() if self.period else None,
                f"{key}_note": self.note}

    def as_data(self) -> dict:
        """{"due", "due_period", "due_note", "last_day", "calendar_covered", "note"}."""
        return {**self.fields("due"), "last_day": self.last_day.isoformat(),
                "calendar_covered": self.calendar_covered, "note": self.note}


def is_rest_day(day: date, calendar: HolidayCalendar | None = None) -> tuple[bool, bool]:
    """(rest day?, known from an official schedule rather than the statutory fallback?)."""
    rest, source = (calendar or active_calendar()).day(day)
    return rest, source != SOURCE_STATUTE


def next_working_day(day: date, calendar: HolidayCalendar | None = None) -> tuple[date, bool]:
    covered = True
    while True:
        rest, known = is_rest_day(day, calendar)
        covered &= known
        if not rest:
            return day, covered
        day += timedelta(days=1)


def fallback_note(year: int) -> str:
    return (f"{year}年国务院放假安排尚未收录，本期限按《全国年节及纪念日放假办法》的法定节假日及周末推算，"
            f"正式安排公布后可能调整")


def civil_date(instant: datetime) -> date:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: give an aware (UTC) instant")
    return instant.astimezone(CIVIL_TZ).date()


def end_of_day_utc(day: date) -> datetime:
    """24:00 of `day` in Asia/Shanghai (= 00:00 of the next day), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), CIVIL_TZ).astimezone(UTC)


def period_end(trigger: datetime | date, *, days: int = 0, months: int = 0, years: int = 0,
               kind: str = "default", calendar: HolidayCalendar | None = None) -> Deadline:
    """The deadline of a period of `days` / `months` / `years` triggered at `trigger`, by
    `calendar` (default: the active one, see `engine.domain.holidays`)."""
    if days < 0 or months < 0 or years < 0 or not (days or months or years):
        raise ValueError("a period needs a positive length")
    start_day = trigger if isinstance(trigger, date) and not isinstance(trigger, datetime) else civil_date(trigger)
    # Days: the period starts the next day, so its last day is trigger + N. Months/years: the
    # corresponding day, clamped to the month's end by relativedelta (Art. 202).
    last = start_day + relativedelta(years=years, months=months) + timedelta(days=days)
    rule = RULES.get(kind, RULES["default"])
    covered = True  # counted in calendar days as-is, the last day depends on no holiday schedule
    if rule.move_off_rest_days:
        last, covered = next_working_day(last, calendar)
    note = "" if covered else fallback_note(last.year)
    period = Period(start_day, int(days), int(months), int(years), kind)
    return Deadline(last, end_of_day_utc(last), covered, note, period)


def recount(period: Period, calendar: HolidayCalendar | None = None) -> Deadline:
    """The same period counted again (e.g. after a year's schedule was loaded)."""
    return period_end(period.trigger, days=period.days, months=period.months, years=period.years,
                      kind=period.kind, calendar=calendar)


def days_remaining(deadline_at: datetime, now: datetime) -> int:
    """Whole civil days left until a deadline (negative when overdue)."""
    return (civil_date(deadline_at - timedelta(microseconds=1)) - civil_date(now)).days


def format_civil_date(day: date) -> str:
    """2026年11月21日 — dates on notices use Arabic numerals (GB/T 9704)."""
    return f"{day.year}年{day.month}月{day.day}日"
