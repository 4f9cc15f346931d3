"""Engines, sessions and the unit of work. One session per request / command / worker step."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; NORMAL is durable across app crashes in WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # No pre-ping: it costs a round trip on every checkout; stale connections are recycled instead.
    # Custom plans only: psycopg prepares a statement run five times on a connection, and PostgreSQL
    # then plans it once for any parameters — so a jurisdiction's `org_path LIKE $1 || '%'` cannot
    # use the prefix index and reads every task of the role in the city (25 ms → 2 ms for an inbox
    # count at 400,000 cases, bench/scale.py).
    return create_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800,
                         connect_args={"options": "-c plan_cache_mode=force_custom_plan"})


def ping(url: str) -> None:
    """Reach the database with a trivial query (raises what the driver raises)."""
    with engine_for(url).connect() as conn:
        conn.execute(text("SELECT 1"))


@lru_cache(maxsize=16)
def engine_for(url: str) -> Engine:
    return make_engine(url)


@lru_cache(maxsize=16)
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(url), expire_on_commit=False)


def session_factory(url: str) -> sessionmaker[Session]:
    return _factory(url)


@contextmanager
def unit_of_work(url: str) -> Iterator[Session]:
    """Everything done inside commits together or not at all."""
    session = _factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# PostgreSQL's deadlock_detected and serialization_failure: the database chose this transaction as
# the loser of a race; running the whole unit of work again is the documented remedy.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """A database error that a retry of the whole transaction may not meet again."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    # SQLite: the single writer lock was not granted within busy_timeout.
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)
