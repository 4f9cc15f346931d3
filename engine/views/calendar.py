"""The official holiday schedules as stored: each year's source and versions."""
from __future__ import annotations

from typing import Any

from engine import calendar_store


def year_overviews(rt: Any, years: list[int], with_history: bool = False) -> list[dict[str, Any]]:
    """Each year's source (loaded schedule, built-in data, or reckoned by the rules); with its
    loaded versions under "history" when asked."""
    with rt.uow() as s:
        out = [calendar_store.year_overview(s, y) for y in years]
        if with_history:
            for y in out:
                y["history"] = [{"version": r.version, "created_by": r.created_by, "created_at": r.created_at}
                                for r in calendar_store.schedule_history(s, y["year"])]
    return out


def schedule_versions(rt: Any, year: int) -> list[dict[str, Any]]:
    with rt.uow() as s:
        return [{"version": r.version, "created_by": r.created_by, "created_at": r.created_at}
                for r in calendar_store.schedule_history(s, year)]
