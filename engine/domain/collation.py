"""Chinese name order "按姓氏笔画": ICU's kept stroke collation (zh@collation=stroke), which
orders by stroke count, then by the first stroke's shape (横竖撇点折), character by character.
No hand-written stroke table: ICU's data follows the Unicode Han database and is maintained."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import icu

T = TypeVar("T")
_local = threading.local()  # ICU collators are not thread-safe


def _collator() -> icu.Collator:
    c = getattr(_local, "collator", None)
    if c is None:
        c = _local.collator = icu.Collator.createInstance(icu.Locale("zh@collation=stroke"))
    return c


def stroke_key(name: str) -> bytes:
    """Sort key of a name in stroke order (compare keys with <; equal names, equal keys)."""
    return _collator().getSortKey(str(name or "").strip())


def by_strokes(items: Iterable[T], name: Callable[[T], Any] = lambda x: x) -> list[T]:
    """`items` sorted by the stroke order of `name(item)`; ties keep their given order."""
    return sorted(items, key=lambda x: stroke_key(str(name(x) or "")))
