"""Which days are statutory rest days (Civil Code Art. 203 moves a period's last day off them).

Three sources, in this order of precedence for a given day:

1. a loaded official schedule (the State Council's yearly 放假安排, loaded by an administrator as
   data): a day it lists as 休 or 班 is exactly that; other days of its year follow the weekend;
2. the bundled `chinese_calendar` package, for the years it covers;
3. the 《全国年节及纪念日放假办法》 (2024 revision, in force 2025-01-01) itself: weekends plus
   元旦 (1 Jan), 春节 (农历除夕 to 初三), 清明 (the Qingming solar term day), 劳动节 (1–2 May),
   端午 (农历五月初五), 中秋 (农历八月十五), 国庆 (1–3 Oct). Lunar dates and solar terms come
   from `lunar_python`, never from a table kept here. Deadlines resting on this source carry a note.

The schedule file format (CSV, UTF-8) is parsed by `parse_schedule`; see the README.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar
from lunar_python import Lunar, Solar

SOURCE_LOADED = "loaded"
SOURCE_PACKAGE = "package"
SOURCE_STATUTE = "statute"
SOURCE_ZH = {SOURCE_LOADED: "已加载的国务院放假安排", SOURCE_PACKAGE: "系统内置的节假日数据",
             SOURCE_STATUTE: "按《全国年节及纪念日放假办法》推算（正式安排未收录）"}

HOLIDAY = "休"
WORKDAY = "班"
_KINDS = {"休": HOLIDAY, "休息": HOLIDAY, "放假": HOLIDAY, "holiday": HOLIDAY,
          "班": WORKDAY, "上班": WORKDAY, "调休上班": WORKDAY, "workday": WORKDAY}
HEADER = ("日期", "类别", "名称")
# The 2024 办法 is in force from 2025; lunar_python is exact up to 2100.
FIRST_YEAR, LAST_YEAR = 2025, 2100


def statutory_holidays(year: int) -> dict[date, str]:
    """The fixed holidays of the 2024 办法 falling in `year` (春节 counts from the 除夕 before the
    lunar new year of `year`, so it lies wholly in `year`)."""
    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    new_year = _solar(Lunar.fromYmd(year, 1, 1).getSolar())
    for i in range(-1, 3):  # 除夕, 初一, 初二, 初三
        days[new_year + timedelta(days=i)] = "春节"
    qingming = Solar.fromYmd(year, 4, 1).getLunar().getJieQiTable()["清明"]
    days[_solar(qingming)] = "清明节"
    days[date(year, 5, 1)] = days[date(year, 5, 2)] = "劳动节"
    days[_solar(Lunar.fromYmd(year, 5, 5).getSolar())] = "端午节"
    days.setdefault(_solar(Lunar.fromYmd(year, 8, 15).getSolar()), "中秋节")  # may fall on 10-01..03
    for d in (1, 2, 3):
        days[date(year, 10, d)] = "国庆节"
    return days


def _solar(s) -> date:
    return date(s.getYear(), s.getMonth(), s.getDay())


@dataclass(frozen=True)
class YearSchedule:
    """One year's official arrangement: listed rest days (休) and adjusted working days (班)."""

    year: int
    holidays: dict[date, str]
    workdays: dict[date, str] = field(default_factory=dict)
    source: str = ""  # e.g. the notice's document number
    version: int = 0  # setting version it was loaded as

    def as_value(self) -> dict:
        return {"year": self.year, "source": self.source,
                "holidays": {d.isoformat(): n for d, n in sorted(self.holidays.items())},
                "workdays": {d.isoformat(): n for d, n in sorted(self.workdays.items())}}

    @classmethod
    def from_value(cls, value: dict, version: int = 0) -> YearSchedule:
        return cls(int(value["year"]), {date.fromisoformat(k): v for k, v in value["holidays"].items()},
                   {date.fromisoformat(k): v for k, v in value["workdays"].items()}, value.get("source", ""),
                   version)


class HolidayCalendar:
    """Rest days by the precedence above. Immutable once built; build a new one to change it."""

    def __init__(self, schedules: dict[int, YearSchedule] | None = None):
        self.schedules = dict(schedules or {})
        self._listed: dict[date, bool] = {}
        for sched in self.schedules.values():
            self._listed.update({d: True for d in sched.holidays})
            self._listed.update({d: False for d in sched.workdays})
        self._statute: dict[int, dict[date, str]] = {}
        self._memo: dict[date, tuple[bool, str]] = {}  # the package's lookup is slow; days never change here

    def year_source(self, year: int) -> str:
        if year in self.schedules:
            return SOURCE_LOADED
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            return SOURCE_PACKAGE
        except NotImplementedError:
            return SOURCE_STATUTE

    def day(self, day: date) -> tuple[bool, str]:
        """(rest day?, source that decided it)."""
        hit = self._memo.get(day)
        if hit is None:
            hit = self._memo[day] = self._decide(day)
        return hit

    def _decide(self, day: date) -> tuple[bool, str]:
        if day in self._listed:
            return self._listed[day], SOURCE_LOADED
        if day.year in self.schedules:
            return day.weekday() >= 5, SOURCE_LOADED
        try:
            return (not chinese_calendar.is_workday(day)), SOURCE_PACKAGE
        except NotImplementedError:
            pass
        if day.year not in self._statute:
            self._statute[day.year] = statutory_holidays(day.year)
        return (day.weekday() >= 5 or day in self._statute[day.year]), SOURCE_STATUTE

    def with_schedule(self, schedule: YearSchedule) -> HolidayCalendar:
        return HolidayCalendar({**self.schedules, schedule.year: schedule})

    def fingerprint(self) -> tuple:
        return tuple(sorted((y, s.version) for y, s in self.schedules.items()))


_ACTIVE = HolidayCalendar()


def active_calendar() -> HolidayCalendar:
    """The calendar deadlines are counted by unless one is passed explicitly. The runtime keeps it
    in step with the schedules stored in the database (engine.calendar_store.sync)."""
    return _ACTIVE


def set_active_calendar(calendar: HolidayCalendar) -> None:
    global _ACTIVE
    _ACTIVE = calendar


# --- the schedule file ------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    line: int | None
    message_zh: str

    def __str__(self) -> str:
        return f"第{self.line}行：{self.message_zh}" if self.line else self.message_zh


class ScheduleError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("放假安排文件有误：\n" + "\n".join(str(p) for p in problems))


def parse_schedule(text: str, source: str = "") -> YearSchedule:
    """Parse and check a year's schedule. Every problem is reported with its line number; any
    problem refuses the whole file (ScheduleError)."""
    problems: list[Problem] = []
    rows: list[tuple[int, date, str, str]] = []
    header_seen = False
    for lineno, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader(io.StringIO(line)))]
        if not header_seen:
            header_seen = True
            if tuple(cells[:2]) != HEADER[:2]:
                problems.append(Problem(lineno, f"第一行应为表头「{','.join(HEADER)}」"))
                break
            continue
        if len(cells) < 2 or len(cells) > 3:
            problems.append(Problem(lineno, "每行应为「日期,类别,名称」三栏"))
            continue
        raw_day, raw_kind, name = cells[0], cells[1], cells[2] if len(cells) == 3 else ""
        try:
            day = date.fromisoformat(raw_day)
            if len(raw_day) != 10:
                raise ValueError
        except ValueError:
            problems.append(Problem(lineno, f"日期「{raw_day}」不存在或格式不对（应为 YYYY-MM-DD）"))
            continue
        kind = _KINDS.get(raw_kind.lower())
        if kind is None:
            problems.append(Problem(lineno, f"类别「{raw_kind}」无法识别（应为「休」或「班」）"))
            continue
        rows.append((lineno, day, kind, name))
    if not header_seen:
        problems.append(Problem(None, "文件为空"))
    if not rows:
        raise ScheduleError(problems or [Problem(None, "文件没有列出任何日期")])
    unreadable = bool(problems)  # then a "missing" holiday may just be on an unreadable line

    year = max(d.year for _, d, _, _ in rows)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ScheduleError([Problem(None, f"{year} 年不在可加载的范围（{FIRST_YEAR}–{LAST_YEAR} 年）内")])
    statutory = statutory_holidays(year)
    seen: dict[date, tuple[int, str]] = {}
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    for lineno, day, kind, name in rows:
        # A year's notice may arrange the last days of December before it (元旦), nothing earlier.
        if not (day.year == year or (day.year == year - 1 and day.month == 12)):
            problems.append(Problem(lineno, f"{day.isoformat()} 不属于 {year} 年的放假安排"))
            continue
        if day in seen:
            first_line, first_kind = seen[day]
            if first_kind == kind:
                problems.append(Problem(lineno, f"{day.isoformat()} 与第{first_line}行重复"))
            else:
                problems.append(Problem(lineno, f"{day.isoformat()} 在第{first_line}行已列为"
                                                f"{'休息日' if first_kind == HOLIDAY else '调休上班日'}，"
                                                f"不能同时是{'休息日' if kind == HOLIDAY else '调休上班日'}"))
            continue
        seen[day] = (lineno, kind)
        if kind == WORKDAY:
            if day in statutory:
                problems.append(Problem(lineno, f"{day.isoformat()} 是法定节假日（{statutory[day]}），不能调为上班日"))
            elif day.weekday() < 5:
                problems.append(Problem(lineno, f"{day.isoformat()} 是工作日，无需列为调休上班日"))
            else:
                workdays[day] = name or "调休上班"
        else:
            holidays[day] = name or statutory.get(day, "休息")
    for day, name in sorted(statutory.items()):
        if day not in seen and not unreadable:
            problems.append(Problem(None, f"缺少法定节假日 {day.isoformat()}（{name}）"))
    if problems:
        raise ScheduleError(problems)
    return YearSchedule(year, holidays, workdays, source)
