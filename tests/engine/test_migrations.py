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


def test_0020_backfills_each_case_rows_chain_head_and_comes_down_again(runtime, actors, db_url):
    """Cases with history from before 0020: the upgrade writes each row's chain head from its
    events; the downgrade drops the columns; a new change after the upgrade moves the head on."""
    from alembic.script import ScriptDirectory

    from engine import audit, audit_anchor
    from engine.db.migrate import alembic_config
    from engine.runtime.service import deploy
    from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS, apply_data

    deploy(runtime, [SAMPLE_BPMN], SAMPLE_FORMS)
    cases = [runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"]) for _ in range(2)]
    runtime.complete_task(cases[0].tasks[0]["id"], actors["street"], apply_data())
    below = ScriptDirectory.from_config(alembic_config(db_url)).get_revision("0020").down_revision
    engine_for(db_url).dispose()  # pooled connections must not keep plans of the columns dropped
    downgrade(db_url, below)
    assert "audit_seq" not in {c["name"] for c in inspect(engine_for(db_url)).get_columns("process_case")}
    upgrade(db_url)
    engine_for(db_url).dispose()
    heads = """SELECT c.case_number, c.audit_seq, c.audit_head, e.seq, e.row_hash FROM process_case c
               JOIN audit_event e ON e.chain = 'case:' || c.case_number
               AND e.seq = (SELECT MAX(seq) FROM audit_event WHERE chain = e.chain)"""
    with engine_for(db_url).connect() as c:
        rows = c.execute(text(heads)).all()
    assert len(rows) == 2 and all(r[1] == r[3] and r[2] == r[4] for r in rows)
    assert {r[1] for r in rows} == {1, 2}  # started; started and completed
    view = runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    runtime.complete_task(view.tasks[0]["id"], actors["street"], apply_data())
    with runtime.uow() as s:
        assert audit_anchor.verify_anchor(s).problems == []
        assert all(r.ok for r in audit.verify(s))
    if db_url.startswith("postgresql"):  # a state written since is compressed with lz4
        with engine_for(db_url).connect() as c:
            lz4 = c.execute(text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
            used = c.execute(text("SELECT pg_column_compression(state) FROM process_case WHERE case_number = :n"),
                             {"n": view.case_number}).scalar()
        assert used == ("lz4" if lz4 else "pglz")
    downgrade(db_url, below)  # and down again with the data in place
    engine_for(db_url).dispose()
    upgrade(db_url)
