"""Due times are shown as a period's end reads in law: 24:00 of the last day, Beijing time."""
from datetime import UTC, datetime

from engine.web.context import deadline_time


def test_a_period_ending_at_midnight_shows_as_24_00_of_its_last_day():
    assert deadline_time(datetime(2026, 12, 17, 16, 0, tzinfo=UTC)) == "2026-12-17 24:00"
    assert deadline_time("2026-12-31T16:00:00+00:00") == "2026-12-31 24:00"  # not 2027-01-01 00:00


def test_other_times_show_as_they_are():
    assert deadline_time(datetime(2026, 12, 17, 16, 1, tzinfo=UTC)) == "2026-12-18 00:01"
    assert deadline_time("2026-12-17T09:30:00+00:00") == "2026-12-17 17:30"
    assert deadline_time(None) == "" and deadline_time("不是时间") == "不是时间"
