"""The audit table is append-only, and a tampered chain is found."""
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from engine import audit
from engine.cli import app
from engine.db.session import engine_for
from tests.engine.support import apply_data


def _make_history(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data())
    return case.case_number


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor = 'mallory'",
    "DELETE FROM audit_event",
])
def test_update_and_delete_are_refused_by_trigger(sample, actors, db_url, statement):
    _make_history(sample, actors)
    with pytest.raises(DatabaseError) as err:
        with engine_for(db_url).begin() as conn:
            conn.execute(text(statement))
    assert "append-only" in str(err.value)


def _drop_guards(db_url):
    with engine_for(db_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_no_update ON audit_event"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_tampering_is_found_and_named(sample, actors, db_url):
    number = _make_history(sample, actors)
    runner = CliRunner()
    ok = runner.invoke(app, ["--db", db_url, "audit", "verify", number])
    assert ok.exit_code == 0, ok.output
    _drop_guards(db_url)
    with engine_for(db_url).begin() as conn:
        conn.execute(text("UPDATE audit_event SET data_after = :d WHERE chain = :c AND seq = 2"),
                     {"d": json.dumps({"amount": 1}), "c": audit.case_chain(number)})
    with sample.uow() as s:
        report = audit.verify(s, audit.case_chain(number))[0]
    assert not report.ok and report.broken_seq == 2 and "changed" in report.reason
    bad = runner.invoke(app, ["--db", db_url, "audit", "verify", number])
    assert bad.exit_code == 1 and "seq=2" in bad.output
    everything = runner.invoke(app, ["--db", db_url, "audit", "verify", "--json"])
    assert everything.exit_code == 1


def test_removed_event_breaks_the_chain(sample, actors, db_url):
    number = _make_history(sample, actors)
    _drop_guards(db_url)
    with engine_for(db_url).begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE chain = :c AND seq = 1"), {"c": audit.case_chain(number)})
    with sample.uow() as s:
        report = audit.verify(s, audit.case_chain(number))[0]
    assert not report.ok and report.broken_seq == 2 and "gap" in report.reason


def test_export_jsonl_and_csv(sample, actors, db_url, tmp_path):
    number = _make_history(sample, actors)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db_url, "audit", "export", number, "--format", "jsonl"])
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert [r["action"] for r in rows] == ["case_started", "task_completed"]
    assert rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert json.loads(rows[1]["data_after"])["applicant"] == "张三"
    target = tmp_path / "a.csv"
    res = runner.invoke(app, ["--db", db_url, "audit", "export", number, "--format", "csv", "-o", str(target)])
    assert res.exit_code == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,chain,seq") and len(lines) == 3
    bad = runner.invoke(app, ["--db", db_url, "audit", "export", "NOPE-1"])
    assert bad.exit_code == 2


def test_streamed_walk_of_every_chain_matches_chain_by_chain(sample, actors, db_url):
    """`verify_all_streamed` (one ordered pass, constant memory) reports each chain exactly as
    walking it on its own does, a broken one included, and `verify` of everything uses it."""
    numbers = [_make_history(sample, actors) for _ in range(3)]
    _drop_guards(db_url)
    with engine_for(db_url).begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE chain = :c AND seq = 2"),
                     {"c": audit.case_chain(numbers[1])})
    with sample.uow() as s:
        one_by_one = [audit.verify(s, c)[0].as_dict() for c in audit.chains(s)]
        streamed = [r.as_dict() for r in audit.verify_all_streamed(s, batch=2)]
        everything = [r.as_dict() for r in audit.verify(s)]
    assert streamed == one_by_one == everything
    assert [r["chain"] for r in streamed if not r["ok"]] == [audit.case_chain(numbers[1])]
    assert all(r["events"] >= 2 for r in streamed if r["chain"].startswith("case:"))
