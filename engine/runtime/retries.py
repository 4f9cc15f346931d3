"""Running a unit of work again when the database picked it as the loser of a race."""
from __future__ import annotations

import functools
import logging
import random
import time

from sqlalchemy.exc import DBAPIError

from engine.db.session import is_transient

from .errors import Conflict

log = logging.getLogger("hongwu.runtime")
UOW_ATTEMPTS = 5  # a unit of work that lost a deadlock or serialization race runs again, this often


def with_retries(unit, *args, **kwargs):
    """Run a unit of work again (from the start: nothing of the lost attempt was kept) when the
    database picked it as the loser of a deadlock or serialization race; after the last attempt
    the caller gets a Conflict (409), never the database's error."""
    for attempt in range(1, UOW_ATTEMPTS + 1):
        try:
            return unit(*args, **kwargs)
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            if attempt == UOW_ATTEMPTS:
                raise Conflict("the database was busy with a conflicting change; please retry",
                               "系统繁忙（与他人的操作同时发生），请稍后重试") from exc
            log.warning("%s: transient database error (attempt %d), retrying: %s",
                        getattr(unit, "__name__", "unit of work"), attempt, exc.orig)
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))  # jitter: the racers spread out


def retried(method):
    """A service-layer method that is one unit of work, run under `with_retries`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return with_retries(method, self, *args, **kwargs)
    return wrapper
