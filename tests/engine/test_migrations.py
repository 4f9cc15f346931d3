"""Alembic is the only way the schema is made: up, down to nothing, up again, on both databases."""
import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, inspect, text

from engine.db.migrate import current_revision, downgrade, head_revision, upgrade
from engine.db.session import engine_for


def _round_trip(url):
    upgrade(url)
    assert current_revision(url) == head_revision(url)
    tables = set(inspect(engine_for(url)).get_table_names())
    assert {"process_case", "human_task", "timer", "audit_event", "document", "org_unit"} <= tables
    downgrade(url, "base")
    assert set(inspect(engine_for(url)).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    assert current_revision(url) == head_revision(url)


def test_sqlite_round_trip(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'm.db'}")


@contextmanager
def _empty_pg_database():
    # pg_url is already migrated (from a template); make an empty one for the round trip.
    from tests.conftest import PG_URL, _pg_admin_url, _with_db

    name = f"hongwu_m_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_db(PG_URL, name)
    finally:
        engine_for(_with_db(PG_URL, name)).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgresql_round_trip(pg_url):
    with _empty_pg_database() as url:
        _round_trip(url)


def _second_factor_columns(url) -> set[str]:
    insp = inspect(engine_for(url))
    names = {c["name"] for c in insp.get_columns("vote_round")} | {c["name"] for c in insp.get_columns("vote_ballot")}
    return names & {"second_factor", "id_check"}


def _second_factor_round_trip(url):
    """0019 adds the round's second factor and the ballot's ID check, and takes them away again."""
    upgrade(url)
    assert _second_factor_columns(url) == {"second_factor", "id_check"}
    downgrade(url, "0017")
    assert _second_factor_columns(url) == set()
    upgrade(url)
    assert _second_factor_columns(url) == {"second_factor", "id_check"}


def test_second_factor_migration_sqlite(tmp_path):
    _second_factor_round_trip(f"sqlite:///{tmp_path / 'f.db'}")


def test_second_factor_migration_postgresql(pg_url):
    with _empty_pg_database() as url:
        _second_factor_round_trip(url)
