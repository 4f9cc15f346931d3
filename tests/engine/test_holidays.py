"""Statutory rest days without an official schedule (2024 《全国年节及纪念日放假办法》), loaded
schedules, and each period kind across the 2026/2027 boundary."""
from datetime import UTC, date, datetime

import pytest

from engine.domain.holidays import (
    SOURCE_LOADED,
    SOURCE_PACKAGE,
    SOURCE_STATUTE,
    HolidayCalendar,
    ScheduleError,
    parse_schedule,
    statutory_holidays,
)
from engine.domain.periods import Period, period_end, recount

EMPTY = HolidayCalendar()  # nothing loaded: package for ≤ 2026, the statute after


# Published dates (State Council schedules for 2026; almanac dates after), not computed here.
KNOWN = {
    2026: {"除夕": date(2026, 2, 16), "清明": date(2026, 4, 5), "端午": date(2026, 6, 19), "中秋": date(2026, 9, 25)},
    2027: {"除夕": date(2027, 2, 5), "清明": date(2027, 4, 5), "端午": date(2027, 6, 9), "中秋": date(2027, 9, 15)},
    2028: {"除夕": date(2028, 1, 25), "清明": date(2028, 4, 4), "端午": date(2028, 5, 28), "中秋": date(2028, 10, 3)},
    2029: {"除夕": date(2029, 2, 12), "清明": date(2029, 4, 4), "端午": date(2029, 6, 16), "中秋": date(2029, 9, 22)},
    2030: {"除夕": date(2030, 2, 2), "清明": date(2030, 4, 5), "端午": date(2030, 6, 5), "中秋": date(2030, 9, 12)},
}


@pytest.mark.parametrize("year", sorted(KNOWN))
def test_lunar_holidays_match_known_dates(year):
    days = statutory_holidays(year)
    k = KNOWN[year]
    from datetime import timedelta
    assert [days.get(k["除夕"] + timedelta(days=i)) for i in range(4)] == ["春节"] * 4
    assert days.get(k["除夕"] - timedelta(days=1)) is None and days.get(k["除夕"] + timedelta(days=4)) is None
    assert days[k["清明"]] == "清明节"
    assert days[k["端午"]] == "端午节"
    assert k["中秋"] in days  # 2028: 中秋 on 10-03 is also 国庆
    assert days[date(year, 1, 1)] == "元旦"
    assert days[date(year, 5, 1)] == days[date(year, 5, 2)] == "劳动节"
    assert date(year, 5, 3) not in days
    assert [days[date(year, 10, d)] for d in (1, 2, 3)] == ["国庆节"] * 3 and date(year, 10, 4) not in days
    assert len(days) == 13 - (1 if year == 2028 else 0)  # 1+4+1+2+1+1+3; 2028 中秋 = 国庆 day


def test_sources_by_precedence():
    assert EMPTY.year_source(2026) == SOURCE_PACKAGE and EMPTY.year_source(2027) == SOURCE_STATUTE
    assert EMPTY.day(date(2027, 1, 1)) == (True, SOURCE_STATUTE)
    assert EMPTY.day(date(2027, 2, 5)) == (True, SOURCE_STATUTE)  # 除夕, a Friday
    assert EMPTY.day(date(2027, 1, 4)) == (False, SOURCE_STATUTE)
    cal = EMPTY.with_schedule(parse_schedule(SCHEDULE_2027))
    assert cal.year_source(2027) == SOURCE_LOADED
    assert cal.day(date(2027, 2, 11)) == (True, SOURCE_LOADED)  # listed
    assert cal.day(date(2027, 2, 20)) == (False, SOURCE_LOADED)  # a listed 调休 Saturday
    assert cal.day(date(2027, 3, 6)) == (True, SOURCE_LOADED)  # plain Saturday of a loaded year
    # A loaded schedule also beats the package for the years the package covers.
    s2026 = parse_schedule("日期,类别,名称\n" + "\n".join(f"{d.isoformat()},休,{n}" for d, n in
                                                    statutory_holidays(2026).items()) + "\n2026-12-31,休,测试\n")
    assert EMPTY.with_schedule(s2026).day(date(2026, 12, 31)) == (True, SOURCE_LOADED)
    assert EMPTY.day(date(2026, 12, 31)) == (False, SOURCE_PACKAGE)


# --- each period kind at the 2026/2027 boundary (nothing loaded for 2027) --------------------

def at(y, m, d):
    return datetime(y, m, d, 2, tzinfo=UTC)


@pytest.mark.parametrize("kwargs,trigger,expected", [
    (dict(days=30), at(2026, 12, 2), date(2027, 1, 4)),  # 2027-01-01 元旦 (Fri) → Mon 01-04
    (dict(days=15), at(2027, 1, 21), date(2027, 2, 9)),  # 02-05 除夕 … 02-08 初三 → Tue 02-09
    (dict(days=30, kind="publicity"), at(2026, 12, 2), date(2027, 1, 4)),
    (dict(days=7, kind="voting"), at(2026, 12, 25), date(2027, 1, 4)),
    (dict(days=30, kind="filing"), at(2026, 12, 2), date(2027, 1, 4)),
    (dict(days=7, kind="first_meeting"), at(2026, 12, 25), date(2027, 1, 4)),
    (dict(days=5, kind="mediation"), at(2026, 12, 27), date(2027, 1, 4)),
    (dict(days=30, kind="judicial_confirmation"), at(2026, 12, 2), date(2027, 1, 4)),
    (dict(days=30, kind="follow_up"), at(2026, 12, 2), date(2027, 1, 4)),
    (dict(days=10, kind="review"), at(2026, 12, 22), date(2027, 1, 4)),
    (dict(months=1), date(2026, 12, 1), date(2027, 1, 4)),
    (dict(years=1), date(2026, 1, 1), date(2027, 1, 4)),
    (dict(days=30, kind="renewal_reminder"), at(2026, 12, 2), date(2027, 1, 1)),  # calendar days as-is
])
def test_each_period_kind_across_the_year_boundary(kwargs, trigger, expected):
    d = period_end(trigger, calendar=EMPTY, **kwargs)
    assert d.last_day == expected
    moves = kwargs.get("kind") != "renewal_reminder"
    assert d.calendar_covered is (not moves)
    assert ("2027年国务院放假安排尚未收录" in d.note) is moves


def test_a_period_ending_in_2026_is_covered_by_the_package():
    d = period_end(at(2026, 12, 1), days=29, calendar=EMPTY)  # 12-30 Wed
    assert d.last_day == date(2026, 12, 30) and d.calendar_covered and d.note == ""


def test_no_fallback_deadline_ends_on_a_statutory_holiday():
    for year in (2027, 2028, 2029, 2030):
        hol = statutory_holidays(year)
        for offset in range(0, 366, 3):
            d = period_end(date(year, 1, 1), days=offset + 1, calendar=EMPTY)
            assert d.last_day not in hol and d.last_day.weekday() < 5


def test_recount_uses_the_stored_period_and_the_new_calendar():
    d = period_end(at(2027, 1, 21), days=15, kind="publicity", calendar=EMPTY)
    assert d.period == Period(date(2027, 1, 21), 15, 0, 0, "publicity")
    assert Period.from_dict(d.period.as_dict()) == d.period
    cal = EMPTY.with_schedule(parse_schedule(SCHEDULE_2027))
    again = recount(d.period, cal)
    assert again.last_day == date(2027, 2, 12) and again.calendar_covered and again.note == ""


# --- the schedule file ------------------------------------------------------------------------

SCHEDULE_2027 = """# 2027年部分节假日安排（示例）
日期,类别,名称
2027-01-01,休,元旦
2027-01-02,休,元旦
2027-01-03,休,元旦
2027-02-05,休,春节
2027-02-06,休,春节
2027-02-07,休,春节
2027-02-08,休,春节
2027-02-09,休,春节
2027-02-10,休,春节
2027-02-11,休,春节
2027-02-20,班,春节调休
2027-04-05,休,清明节
2027-05-01,休,劳动节
2027-05-02,休,劳动节
2027-06-09,休,端午节
2027-09-15,休,中秋节
2027-10-01,休,国庆节
2027-10-02,休,国庆节
2027-10-03,休,国庆节
"""


def test_a_good_schedule_parses():
    s = parse_schedule(SCHEDULE_2027, source="国办发明电〔2026〕示例号")
    assert s.year == 2027 and len(s.holidays) == 18 and s.workdays == {date(2027, 2, 20): "春节调休"}
    assert s.source == "国办发明电〔2026〕示例号"


def _problems(text):
    with pytest.raises(ScheduleError) as e:
        parse_schedule(text)
    return [str(p) for p in e.value.problems]


def test_unknown_date_duplicate_and_conflict_are_refused_with_line_numbers():
    lines = SCHEDULE_2027.splitlines()
    bad = lines + ["2027-02-30,休,春节", "2027-04-05,休,清明节", "2027-02-06,班,调休", "2027-01-01,班,调休"]
    problems = _problems("\n".join(bad))
    assert problems == [  # every problem at once; the holiday on the unreadable line is not called missing
        "第22行：日期「2027-02-30」不存在或格式不对（应为 YYYY-MM-DD）",
        "第23行：2027-04-05 与第14行重复",
        "第24行：2027-02-06 在第7行已列为休息日，不能同时是调休上班日",
        "第25行：2027-01-01 在第3行已列为休息日，不能同时是调休上班日",
    ]
    assert _problems(SCHEDULE_2027.replace("2027-06-09,休", "2027-06-39,休")) == [
        "第17行：日期「2027-06-39」不存在或格式不对（应为 YYYY-MM-DD）"]
    bad = lines + ["2027-04-05,休,清明节", "2027-02-06,班,调休"]
    problems = _problems("\n".join(bad))
    assert problems == ["第22行：2027-04-05 与第14行重复",
                        "第23行：2027-02-06 在第7行已列为休息日，不能同时是调休上班日"]


@pytest.mark.parametrize("extra,message", [
    ("2027-1-4,休,x", "第22行：日期「2027-1-4」不存在或格式不对（应为 YYYY-MM-DD）"),
    ("2027-03-01,放风,x", "第22行：类别「放风」无法识别（应为「休」或「班」）"),
    ("2027-03-03,班,x", "第22行：2027-03-03 是工作日，无需列为调休上班日"),
    ("2025-12-27,班,x", "第22行：2025-12-27 不属于 2027 年的放假安排"),
    ("2027-03-06,休,x,y", "第22行：每行应为「日期,类别,名称」三栏"),
])
def test_other_bad_lines(extra, message):
    assert _problems(SCHEDULE_2027 + extra + "\n") == [message]


def test_a_statutory_holiday_cannot_be_a_working_day_nor_be_missing():
    text = SCHEDULE_2027.replace("2027-05-02,休,劳动节", "2027-05-02,班,劳动节")
    assert _problems(text) == ["第16行：2027-05-02 是法定节假日（劳动节），不能调为上班日"]
    assert _problems(SCHEDULE_2027.replace("2027-06-09,休,端午节\n", "")) == ["缺少法定节假日 2027-06-09（端午节）"]
    assert _problems("日期,类别,名称\n") == ["文件没有列出任何日期"]
    assert _problems("") == ["文件为空"]
    assert _problems("日期,类别,名称\n2024-01-01,休,元旦\n") == ["2024 年不在可加载的范围（2025–2100 年）内"]
    assert _problems("date,kind\n2027-01-01,休\n") == ["第1行：第一行应为表头「日期,类别,名称」"]


def test_december_of_the_year_before_may_be_arranged():
    s = parse_schedule(SCHEDULE_2027 + "2026-12-31,休,元旦\n")
    assert s.year == 2027 and date(2026, 12, 31) in s.holidays
