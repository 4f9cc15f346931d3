"""Placing validation problems next to their fields (by dotted path), or at the top of the form."""
from __future__ import annotations

from .render import Field


def errors_by_field(details: list[dict]) -> tuple[dict[str, str], list[str]]:
    """Problems keyed by dotted field path; problems without a field go in the second list."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for d in details or []:
        if not isinstance(d, dict):
            general.append(str(d))
            continue
        name = str(d.get("field") or "")
        msg = str(d.get("message_zh") or d.get("message") or "")
        if name:
            by_field[name] = f"{by_field[name]}；{msg}" if name in by_field else msg
        else:
            general.append(msg)
    return by_field, general


def unplaced_errors(fields: list[Field], errors: dict[str, str]) -> list[str]:
    """Errors whose path names no rendered field (shown at the top of the form)."""
    names: set[str] = set()

    def walk(fs: list[Field]) -> None:
        for f in fs:
            names.add(f.name)
            walk(f.children)
            for row in f.rows:
                walk(row)

    walk(fields)
    return [msg for name, msg in errors.items() if name not in names]
