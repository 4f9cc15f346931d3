"""Injectable time. The service layer and SpiffWorkflow's timers both read `current_clock()`,
so a test can move a case days forward without sleeping."""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock. It holds no state, so one instance can be every context's default."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved: `clock.advance(days=7)`."""

    def __init__(self, start: datetime | None = None):
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


class OffsetClock:
    """Another clock moved forward by a fixed span: a case's simulated time in a training database
    (the span grows only through `Runtime.advance_case_clock`)."""

    def __init__(self, base: Clock, offset: timedelta):
        self.base = base
        self.offset = offset

    def now(self) -> datetime:
        return self.base.now() + self.offset


_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("hongwu_clock", default=SystemClock())


def current_clock() -> Clock:
    return _current.get()


@contextmanager
def using_clock(clock: Clock) -> Iterator[Clock]:
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


def _install_into_spiff_timers() -> None:
    """SpiffWorkflow's timer events call `datetime.now(timezone.utc)`; route that through our clock."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

    class _ClockDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # same signature as datetime.now
            now = current_clock().now()
            return now.astimezone(tz) if tz else now.astimezone(UTC).replace(tzinfo=None)

    spiff_timer.datetime = _ClockDatetime


_install_into_spiff_timers()
