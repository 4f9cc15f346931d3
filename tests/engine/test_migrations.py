"""Alembic is the only way the schema is made: up, down to nothing, up again, on both databases."""
import uuid

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


def test_postgresql_round_trip(pg_url):
    # pg_url is already migrated (from a template); make an empty one for the round trip.
    from tests.conftest import PG_URL, _pg_admin_url, _with_db

    name = f"hongwu_m_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(_with_db(PG_URL, name))
    finally:
        engine_for(_with_db(PG_URL, name)).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
