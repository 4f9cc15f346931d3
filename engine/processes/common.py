"""Service-task functions every process may call."""
from __future__ import annotations

from engine.domain import voting
from engine.domain.periods import period_end
from engine.runtime.registry import SettingSpec
from engine.runtime.services import ServiceContext, service


@service("deadline", context=True)
def deadline(ctx: ServiceContext, days: int = 0, months: int = 0, kind: str = "default") -> dict:
    """A lawful deadline counted from now: {"due": ISO UTC, "due_period", "due_note", "last_day",
    "calendar_covered", "note"} (see Deadline.as_data)."""
    return period_end(ctx.now, days=int(days), months=int(months), kind=kind).as_data()


# Declared by every process that votes (committee election, prior-review assembly vote): the
# registry lists a key once, so the same spec in both is one setting.
VOTE_SECOND_FACTOR = SettingSpec(voting.SECOND_FACTOR_KEY, "网上投票第二验证方式", voting.default_second_factor,
                                 voting.validate_second_factor, labels=voting.SECOND_FACTOR_LABELS,
                                 choices={"factor": voting.SECOND_FACTORS})
