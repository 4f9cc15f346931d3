"""按姓氏笔画 (ICU stroke collation), officer rank order, the last day of a committee's term, and
which base URLs a resident's phone cannot reach."""
from __future__ import annotations

from datetime import date

import pytest

from engine.config import base_url_warning
from engine.domain.collation import by_strokes, stroke_key
from engine.domain.committee import in_rank_order, term_last_day


def test_stroke_order_counts_strokes_then_first_stroke():
    # 丁 2 strokes; 上 马 3; 王 4; 白 5; 司 5; 刘 6; 吴 李 7; 欧 8.
    names = ["欧阳明", "李秀兰", "吴德勇", "司马光明", "王建国", "马晓燕", "上官婉清", "丁一", "刘芳", "白云"]
    ordered = by_strokes(names)
    assert ordered[0] == "丁一" and ordered[-1] == "欧阳明"
    assert ordered.index("王建国") < ordered.index("白云") < ordered.index("刘芳") < ordered.index("吴德勇")
    # Equal stroke counts: the first stroke decides (横 before 竖 before 撇): 上 (竖) before 马 (折)? ICU's
    # data decides; whatever it says, the order is total and stable for equal names.
    assert by_strokes(["马晓燕", "上官婉清"]) == by_strokes(["上官婉清", "马晓燕"])
    assert stroke_key("王") < stroke_key("王一") < stroke_key("王二")  # a shorter name first, then the next character


def test_stroke_sort_keeps_given_order_of_equal_names_and_ignores_blank_edges():
    people = [{"name": "李明", "n": 1}, {"name": " 李明 ", "n": 2}, {"name": "丁一", "n": 3}]
    assert [p["n"] for p in by_strokes(people, lambda p: p["name"])] == [3, 1, 2]


def test_officers_in_rank_order_then_strokes():
    people = [{"name": "王五", "position": "委员"}, {"name": "李四", "position": "副主任"},
              {"name": "丁一", "position": "委员"}, {"name": "赵六", "position": "主任"},
              {"name": "上官", "position": "顾问"}]
    assert [p["name"] for p in in_rank_order(people)] == ["赵六", "李四", "丁一", "王五", "上官"]


@pytest.mark.parametrize("start,years,last", [
    (date(2026, 12, 18), 5, date(2031, 12, 17)),  # the example: not 2031-12-18
    (date(2026, 1, 1), 1, date(2026, 12, 31)),
    (date(2028, 2, 29), 1, date(2029, 2, 28)),  # no 29 February: the month's last day (Art. 202)
    (date(2028, 3, 1), 1, date(2029, 2, 28)),
    (date(2027, 3, 1), 5, date(2032, 2, 29)),  # the day before the anniversary, in a leap year
])
def test_term_ends_the_day_before_its_anniversary(start, years, last):
    assert term_last_day(start, years) == last


def test_a_term_has_at_least_a_year():
    with pytest.raises(ValueError):
        term_last_day(date(2026, 1, 1), 0)


@pytest.mark.parametrize("url,reachable", [
    ("http://127.0.0.1:8000", False), ("http://localhost:8101", False), ("http://app.localhost", False),
    ("http://[::1]:8000", False), ("http://0.0.0.0:8000", False), ("http://192.168.1.20", False),
    ("http://10.0.0.5:8080", False), ("http://172.16.0.1", False), ("http://169.254.1.1", False),
    ("http://[fd00::1]", False), ("ftp://hongwu.example.cn", False), ("not a url", False),
    ("https://hongwu.jiangpu.gov.cn", True), ("http://58.213.1.2:8101", True), ("http://172.32.0.1", True),
])
def test_base_url_reachability(url, reachable):
    assert (base_url_warning(url) is None) == reachable
