"""Civil Code Arts. 200–204 deadlines: next-day start, 24:00 end, month ends, rest days."""
from datetime import UTC, date, datetime

import pytest

from engine.domain.periods import (
    days_remaining,
    end_of_day_utc,
    format_civil_date,
    is_rest_day,
    period_end,
)

BJ = UTC  # instants below are UTC; civil dates are Beijing dates


def at(y, m, d, hour_utc=2):
    return datetime(y, m, d, hour_utc, tzinfo=UTC)


def test_days_start_next_day_and_end_at_midnight_beijing():
    d = period_end(at(2026, 11, 24), days=7)  # Tue → Tue 12-01, a working day
    assert d.last_day == date(2026, 12, 1)
    assert d.due_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 12-02 00:00 Beijing
    assert d.calendar_covered and d.note == ""


def test_civil_date_is_beijing_date():
    # 2026-11-23 20:00 UTC is already Tuesday 11-24 in Beijing.
    assert period_end(datetime(2026, 11, 23, 20, tzinfo=UTC), days=1).last_day == date(2026, 11, 25)


def test_last_day_on_weekend_moves_to_monday():
    assert period_end(at(2026, 11, 21), days=7).last_day == date(2026, 11, 30)


def test_national_day_holiday_and_adjusted_working_day():
    # 2026: 10-01..10-07 holiday; Saturday 10-10 is an adjusted working day (调休).
    assert period_end(at(2026, 9, 24), days=7).last_day == date(2026, 10, 8)
    assert is_rest_day(date(2026, 10, 10)) == (False, True)
    assert period_end(at(2026, 9, 30), days=10).last_day == date(2026, 10, 10)


@pytest.mark.parametrize("trigger,months,expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no Feb 31 → Feb 28: a Saturday, but an adjusted working day
    (date(2026, 3, 31), 1, date(2026, 4, 30)),  # no Apr 31 → Apr 30 (Thu)
    (date(2026, 5, 15), 1, date(2026, 6, 15)),  # corresponding day, Monday
    (date(2024, 1, 30), 1, date(2024, 2, 29)),  # leap year month end (Thu)
])
def test_months_end_on_corresponding_day_or_month_end(trigger, months, expected):
    assert period_end(trigger, months=months).last_day == expected


def test_year_not_covered_by_the_calendar_falls_back_to_weekends_and_says_so():
    d = period_end(at(2027, 1, 1), days=1)  # 2027-01-02 is a Saturday
    assert d.last_day == date(2027, 1, 4)
    assert not d.calendar_covered and "2027" in d.note


def test_calendar_days_rule_does_not_move():
    d = period_end(at(2026, 11, 21), days=7, kind="renewal_reminder")
    assert d.last_day == date(2026, 11, 28)


def test_bad_periods_are_refused():
    with pytest.raises(ValueError):
        period_end(at(2026, 1, 1))
    with pytest.raises(ValueError):
        period_end(datetime(2026, 1, 1), days=1)  # naive


def test_helpers():
    assert end_of_day_utc(date(2026, 11, 21)).isoformat() == "2026-11-21T16:00:00+00:00"
    assert format_civil_date(date(2026, 1, 5)) == "2026年1月5日"
    due = end_of_day_utc(date(2026, 11, 30))
    assert days_remaining(due, at(2026, 11, 21)) == 9
    assert days_remaining(due, at(2026, 12, 2)) == -2
