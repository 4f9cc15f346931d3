"""Owner roll import: totals per DESIGN.md §4.1 and every problem reported with file and line."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from engine.domain.owner_roll import DEVELOPER_ID, RollError, parse_roll

GOOD = """unit_id,owner_id,owner_name,area_m2,building
1-101,O1,张三,90.50,1
1-102,O1,张三,80,1
1-201,O2,李四,100.25,1
2-101,DEVELOPER,,120,2
2-102,开发商,,60,2
"""


def test_totals_count_each_owner_once_and_sum_areas():
    roll = parse_roll(GOOD.encode(), "roll.csv")
    assert len(roll.units) == 5
    assert roll.total_owners == 3  # O1 once, O2, all unsold units of the developer once
    assert roll.owners["O1"].area_m2 == Decimal("170.50")
    assert roll.owners["O1"].units == ["1-101", "1-102"]
    assert roll.owners[DEVELOPER_ID].area_m2 == Decimal("180")
    assert roll.total_area == Decimal("450.75")
    assert roll.units["2-101"].building == "2"


def test_bom_and_chinese_headers():
    text = "\ufeff房号,业主编号,业主姓名,专有部分面积\nA,O1,甲,1.5\n"
    roll = parse_roll(text.encode("utf-8"), "roll.csv")
    assert roll.total_area == Decimal("1.5")


def test_every_problem_with_line():
    text = ("unit_id,owner_id,owner_name,area_m2\n"
            "1,a,甲,10\n"
            "1,b,乙,10\n"      # duplicate unit
            "2,a,丙,10\n"      # same owner, different name
            "3,c,丁,0\n"       # non-positive
            "4,d,戊,abc\n"     # non-numeric
            "5,e,己,\n")       # missing
    with pytest.raises(RollError) as err:
        parse_roll(text.encode(), "r.csv")
    where = [(p.line, p.message) for p in err.value.problems]
    assert [w[0] for w in where] == [3, 4, 5, 6, 7]
    assert "duplicate unit" in where[0][1]
    assert "named" in where[1][1]
    assert "positive" in where[2][1]
    assert "not a number" in where[3][1]
    assert "missing" in where[4][1]
    assert all(d["message_zh"].startswith("r.csv:") for d in err.value.details)


def test_missing_columns():
    with pytest.raises(RollError) as err:
        parse_roll(b"unit_id,owner_name\n1,x\n", "r.csv")
    msgs = [p.message for p in err.value.problems]
    assert msgs == ["missing column 'owner_id'", "missing column 'area_m2'"]
    assert err.value.problems[0].line == 1


def test_not_utf8_and_empty():
    with pytest.raises(RollError):
        parse_roll("unit_id,owner_id,owner_name,area_m2\n1,a,张三,1\n".encode("gbk"), "r.csv")
    with pytest.raises(RollError):
        parse_roll(b"unit_id,owner_id,owner_name,area_m2\n", "r.csv")
    with pytest.raises(RollError):
        parse_roll(b"", "r.csv")


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_roll():
    data = _xlsx([["unit_id", "owner_id", "owner_name", "area_m2", "building"],
                  [101, "O1", "张三", 89.57, 1], ["102", "O1", "张三", 10, 1], [None, None, None, None, None],
                  [103, "O2", "李四", 20.25, 1]])
    roll = parse_roll(data, "roll.xlsx")
    assert roll.owners["O1"].area_m2 == Decimal("99.57")
    assert set(roll.units) == {"101", "102", "103"}
    assert roll.total_area == Decimal("119.82")


def test_xlsx_problems_have_sheet_rows():
    data = _xlsx([["unit_id", "owner_id", "owner_name", "area_m2"], [1, "O1", "甲", -1], [1, "O2", "乙", 3]])
    with pytest.raises(RollError) as err:
        parse_roll(data, "roll.xlsx")
    assert [p.line for p in err.value.problems] == [2, 3]


def test_the_optional_id_number_column_is_checked_and_kept_per_owner():
    data = ("房号,业主编号,业主姓名,专有部分面积（㎡）,居民身份证号码\n"
            "1-101,O1,张伟,89.50,11010519491231002x\n"
            "1-102,O1,张伟,60.00,11010519491231002X\n"
            "1-201,O2,李娜,75.00,\n"
            "1-301,DEVELOPER,,120.00,\n").encode()
    roll = parse_roll(data, "r.csv")
    assert roll.owners["O1"].id_number == "11010519491231002X" and roll.units["1-102"].id_number.endswith("X")
    assert roll.owners["O2"].id_number == "" and roll.owners[DEVELOPER_ID].id_number == ""


def test_a_bad_id_number_is_refused_naming_its_row():
    data = ("房号,业主编号,业主姓名,专有部分面积（㎡）,身份证号\n"
            "1-101,O1,张伟,89.50,110105194912310021\n"
            "1-102,O2,李娜,60.00,1101051949123100\n"
            "1-103,O3,王芳,60.00,11010519491231002X\n"
            "1-104,O3,王芳,60.00,44030419900307123X\n").encode()
    with pytest.raises(RollError) as exc:
        parse_roll(data, "r.csv")
    text = exc.value.message_zh
    assert "r.csv:2：居民身份证号码 110105194912310021 校验码不正确" in text
    assert "r.csv:3：居民身份证号码应为18位，当前为16位" in text
    assert "r.csv:5：业主编号 O3 的居民身份证号码与第 4 行不一致" in text and len(exc.value.problems) == 3
