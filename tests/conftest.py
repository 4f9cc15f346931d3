"""Shared fixtures: a freshly migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL comes from HONGWU_TEST_PG_URL (a server where tests may create and drop databases).
Without it the PostgreSQL variants are skipped — except in CI (CI=true), where a missing
PostgreSQL is an error, so that those suites can never silently not run.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.config import Settings
from engine.db.migrate import upgrade
from engine.runtime.clock import FrozenClock

FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = os.environ.get("HONGWU_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 Beijing time, a Saturday
# One audit signing key per test run, outside the working tree (subprocesses inherit it).
if "HONGWU_AUDIT_KEY_FILE" not in os.environ:
    import atexit

    os.environ["HONGWU_AUDIT_KEY_FILE"] = os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"hongwu-test-audit-{os.getpid()}-{uuid.uuid4().hex[:8]}.key")
    atexit.register(lambda path=os.environ["HONGWU_AUDIT_KEY_FILE"]: os.path.exists(path) and os.remove(path))


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def _with_db(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


class _Templates:
    """Migrate once per run, then copy: a fresh database per test costs milliseconds."""

    def __init__(self, tmp_root: Path):
        self.tmp_root = tmp_root
        self.sqlite_template: Path | None = None
        self.pg_template: str | None = None
        self.pg_created: list[str] = []

    def sqlite(self, dest: Path) -> str:
        if self.sqlite_template is None:
            self.sqlite_template = self.tmp_root / "template.db"
            upgrade(f"sqlite:///{self.sqlite_template}")
        shutil.copy(self.sqlite_template, dest)
        return f"sqlite:///{dest}"

    def postgresql(self) -> str:
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        try:
            if self.pg_template is None:
                name = f"hongwu_tpl_{uuid.uuid4().hex[:10]}"
                with admin.connect() as c:
                    c.execute(text(f'CREATE DATABASE "{name}"'))
                self.pg_created.append(name)
                upgrade(_with_db(PG_URL, name))
                from engine.db.session import engine_for

                engine_for(_with_db(PG_URL, name)).dispose()
                self.pg_template = name
            name = f"hongwu_t_{uuid.uuid4().hex[:10]}"
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"'))
            self.pg_created.append(name)
            return _with_db(PG_URL, name)
        finally:
            admin.dispose()

    def release(self, url: str) -> None:
        """Drop one test's database as the test ends. WITH (FORCE) also ends the connections its
        cached engine still pools: kept until the run ends, hundreds of per-test databases' idle
        pools add up past PostgreSQL's max_connections."""
        name = url.rpartition("/")[2]
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.pg_created.remove(name)
        finally:
            admin.dispose()

    def drop_all(self) -> None:
        if not self.pg_created:
            return
        # WITH (FORCE) closes the pooled connections that cached engines still hold.
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for name in reversed(self.pg_created):
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    t = _Templates(tmp_path_factory.mktemp("dbtemplates"))
    yield t
    t.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path, _templates) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "postgresql":
        if not PG_URL:
            if IN_CI:
                pytest.fail("CI=true but HONGWU_TEST_PG_URL is not set: PostgreSQL tests must run in CI")
            pytest.skip("HONGWU_TEST_PG_URL not set")
        url = _templates.postgresql()
        yield url
        _templates.release(url)
        return
    yield _templates.sqlite(tmp_path / "hongwu.db")


@pytest.fixture
def sqlite_url(tmp_path, _templates) -> str:
    return _templates.sqlite(tmp_path / "hongwu.db")


@pytest.fixture
def pg_url(_templates) -> Iterator[str]:
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but HONGWU_TEST_PG_URL is not set: PostgreSQL tests must run in CI")
        pytest.skip("HONGWU_TEST_PG_URL not set")
    url = _templates.postgresql()
    yield url
    _templates.release(url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def make_runtime(url: str, clock: FrozenClock, base_url: str = "http://testserver"):
    from engine.runtime.service import Runtime

    return Runtime(Settings(database_url=url, base_url=base_url, secret_key="test-secret"), clock)


@pytest.fixture
def runtime(db_url, clock):
    """A runtime on a fresh database with the demo organisation and accounts (no passwords)."""
    from engine import demo

    rt = make_runtime(db_url, clock)
    with rt.uow() as s:
        demo.seed(s, clock.now(), password=None)
    return rt


@pytest.fixture
def actors(runtime):
    from engine import demo
    from engine.runtime.actors import load_actor

    with runtime.uow() as s:
        return {u[0]: load_actor(s, u[0]) for u in demo.USERS}


@pytest.fixture
def cli(runtime, db_url):
    """`cli("case", "list", code=0)`: run a `hongwu` command on the test database, asserting its exit code."""
    from typer.testing import CliRunner

    from engine.cli import app

    runner = CliRunner()

    def run(*args, code=0):
        res = runner.invoke(app, ["--db", db_url, *map(str, args)])
        assert res.exit_code == code, res.output
        return res

    return run
