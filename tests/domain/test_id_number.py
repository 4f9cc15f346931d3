"""居民身份证号码 (GB 11643): the check character, the birth date and the length, at their edges."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain.id_number import check_character, id_number_problem, last_six


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


def test_the_standard_example_is_valid_and_its_x_may_be_lower_case():
    assert id_number_problem("11010519491231002X") == ("11010519491231002X", None)
    assert id_number_problem(" 110105 19491231 002x ") == ("11010519491231002X", None)
    assert last_six("11010519491231002x") == "31002X"


def test_every_check_character_value_occurs_including_x_and_zero():
    seen = {check_character(f"1101051990010100{i}"[:17]) for i in range(10)}
    seen |= {check_character(f"44030419900307{n:03d}") for n in range(100)}
    assert seen == set("0123456789X")


@pytest.mark.parametrize("wrong", ["0", "1", "9"])
def test_a_wrong_check_character_is_refused(wrong):
    good = with_check("44030419900307123")
    assert good[-1] == "X"
    number, why = id_number_problem(good[:17] + wrong)
    assert number is None and "校验码不正确" in why[1]


def test_x_anywhere_but_last_is_refused():
    number, why = id_number_problem("4403041990030712X3")
    assert number is None and "17位数字" in why[1]


@pytest.mark.parametrize("text,length", [("11010519491231002", 17), ("11010519491231002X1", 19), ("", 0)])
def test_wrong_length_is_refused_with_the_length(text, length):
    number, why = id_number_problem(text)
    assert number is None and f"应为18位，当前为{length}位" in why[1]


@pytest.mark.parametrize("born,ok", [
    ("20000229", True),   # a leap day
    ("19000228", True),   # the earliest year
    ("19000229", False),  # 1900 was not a leap year
    ("18991231", False),  # before 1900
    ("19901301", False),  # month 13
    ("19900431", False),  # 31 April
    ("19900100", False),  # day 0
])
def test_the_birth_date_must_be_a_date(born, ok):
    number, why = id_number_problem(with_check(f"440304{born}123"))
    assert (number is not None) is ok
    if not ok:
        assert f"出生日期 {born} 不是有效日期" in why[1]


@given(st.from_regex(r"[1-6][0-9]{5}(19[0-9]{2}|20[0-2][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
                     fullmatch=True))
def test_any_single_digit_change_is_caught(first17):
    good = with_check(first17)
    assert id_number_problem(good)[0] == good
    # Outside the birth date; no weight is a multiple of 11, so one changed digit changes the check.
    for i in (0, 5, 14, 16):
        changed = good[:i] + str((int(good[i]) + 1) % 10) + good[i + 1:]
        assert id_number_problem(changed)[0] is None
