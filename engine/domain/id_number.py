"""居民身份证号码 (GB 11643-1999): six digits of address code, the birth date as YYYYMMDD, three
of sequence, and a check character computed over the first seventeen by ISO 7064 MOD 11-2
("X" stands for ten). Only the format and the check character are verified here: whether the
number belongs to the owner is the roll keeper's business."""
from __future__ import annotations

import re
from datetime import date

LENGTH = 18
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"  # indexed by (Σ digit × weight) mod 11
EARLIEST_BIRTH_YEAR = 1900
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def check_character(first17: str) -> str:
    """The 18th character for the first seventeen digits."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalize(text: str) -> str:
    """Spaces dropped and a lower-case x read as X (people type both)."""
    return "".join(str(text or "").split()).upper()


def id_number_problem(text: str) -> tuple[str | None, tuple[str, str] | None]:
    """(the number, None) for a valid 居民身份证号码, else (None, (English, Chinese) reason)."""
    number = normalize(text)
    shown = number[:40]
    if len(number) != LENGTH:
        return None, (f"an ID number has 18 characters, got {len(number)}: {shown!r}",
                      f"居民身份证号码应为18位，当前为{len(number)}位：{shown}")
    if not _SHAPE.fullmatch(number):
        return None, (f"an ID number is 17 digits and a digit or X: {shown!r}",
                      f"居民身份证号码应为17位数字加1位数字或X：{shown}")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < EARLIEST_BIRTH_YEAR:
        return None, (f"the birth date {number[6:14]} in the ID number is not a date",
                      f"居民身份证号码中的出生日期 {number[6:14]} 不是有效日期")
    expected = check_character(number[:17])
    if number[17] != expected:
        return None, (f"the check character of {shown} is wrong", f"居民身份证号码 {shown} 校验码不正确，请核对")
    return number, None


def last_six(number: str) -> str:
    """What an owner types to vote online in a compound that checks the ID number."""
    return normalize(number)[-6:]
