"""Tampering with the audit history by someone who can write to the database but can't read the
audit signing key: each kind is found by `verify` against the signed checkpoint."""
import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from engine import audit, audit_anchor
from engine.cli import app
from engine.db.session import engine_for
from engine.runtime.service import deploy
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS, apply_data


@pytest.fixture
def history(runtime, actors):
    """Two cases with a few events each, then a checkpoint over everything."""
    deploy(runtime, [SAMPLE_BPMN], SAMPLE_FORMS)
    numbers = []
    for _ in range(2):
        case = runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"])
        runtime.complete_task(case.tasks[0]["id"], actors["street"], apply_data())
        numbers.append(case.case_number)
    runtime.audit_checkpoint()
    return numbers


def _drop_guards(db_url):
    """What someone with full write access to the database does first."""
    with engine_for(db_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_no_update ON audit_event"))
            conn.execute(text("DROP TRIGGER audit_checkpoint_no_change ON audit_checkpoint"))
        else:
            for name in ("audit_event_no_update", "audit_event_no_delete", "audit_checkpoint_no_update",
                         "audit_checkpoint_no_delete"):
                conn.execute(text(f"DROP TRIGGER {name}"))


def _sql(db_url, statement, **params):
    with engine_for(db_url).begin() as conn:
        return conn.execute(text(statement), params)


def _rehash_from(rt, chain, seq):
    """What a careful tamperer does: recompute prev_hash/row_hash of the chain from `seq` on. The
    seal can't be recomputed without the key: leave it out, or keep the old one."""
    with rt.uow() as s:
        events = audit.chain_events(s, chain)
        prev = audit.GENESIS if seq == 1 else events[seq - 2].row_hash
        for ev in events[seq - 1:]:
            ev.prev_hash = prev
            row_hash = audit.compute_hash(prev, ev)
            s.execute(text("UPDATE audit_event SET prev_hash = :p, row_hash = :h, seal = NULL WHERE id = :i"),
                      {"p": prev, "h": row_hash, "i": ev.id})
            prev = row_hash
        s.expunge_all()


def _forge(rt, chain, **fields):
    """Append an event with a correct hash, as someone who read the hashing rule would."""
    with rt.uow() as s:
        last = audit.chain_events(s, chain)[-1]
        ev = audit.AuditEvent(chain=chain, seq=last.seq + 1, case_id=last.case_id, actor="street1",
                              action="task_completed", task_id=None, task_name="审核", data_before=None,
                              data_after=json.dumps({"approved": True}), detail=None,
                              created_at=last.created_at, prev_hash=last.row_hash, state_hash=last.state_hash,
                              **fields)
        ev.row_hash = audit.compute_hash(last.row_hash, ev)
        s.expunge_all()
        s.execute(text("""INSERT INTO audit_event (chain, seq, case_id, actor, action, task_id, task_name, data_before,
                          data_after, detail, created_at, prev_hash, row_hash, state_hash, seal)
                          VALUES (:chain, :seq, :case_id, :actor, :action, :task_id, :task_name, :data_before,
                          :data_after, :detail, :created_at, :prev_hash, :row_hash, :state_hash, :seal)"""),
                  {c: getattr(ev, c) for c in audit._COLUMNS})


def _problems(rt, chain=None, document=None):
    with rt.uow() as s:
        return audit_anchor.verify_anchor(s, document, chain).problems


def _kinds(problems):
    return {(p.kind, p.chain) for p in problems}


def test_checkpoints_are_append_only(history, db_url):
    from sqlalchemy.exc import DatabaseError

    for statement in ("UPDATE audit_checkpoint SET merkle_root = 'x'", "DELETE FROM audit_checkpoint"):
        with pytest.raises(DatabaseError) as err:
            _sql(db_url, statement)
        assert "append-only" in str(err.value)


def test_untouched_history_verifies_and_later_events_are_counted_as_not_yet_anchored(history, runtime, actors):
    with runtime.uow() as s:
        report = audit_anchor.verify_anchor(s)
    assert report.ok and report.unanchored_events == 0 and report.checkpoint["chains"] >= 2
    runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    with runtime.uow() as s:
        report = audit_anchor.verify_anchor(s)
    assert report.ok and report.unanchored_events == 1


def test_deleting_the_last_event_is_found(history, runtime, db_url):
    chain = audit.case_chain(history[0])
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_event WHERE chain = :c AND seq = (SELECT MAX(seq) FROM audit_event WHERE chain = :c)", c=chain)
    problems = _problems(runtime)
    assert ("events_missing", chain) in _kinds(problems)
    assert ("events_missing", None) in _kinds(problems)  # the global count says so too
    assert all(p.chain in (chain, None) for p in problems)  # the other case is not blamed


def test_appending_a_forged_event_with_a_correct_hash_is_found(history, runtime, db_url):
    chain = audit.case_chain(history[0])
    _forge(runtime, chain, seal=None)
    assert ("broken", chain) in _kinds(_problems(runtime))
    with runtime.uow() as s:
        walk = audit.verify(s, chain)[0]
    assert not walk.ok and "seal" in walk.reason


def test_a_forged_event_with_a_copied_seal_is_found(history, runtime, db_url):
    chain = audit.case_chain(history[0])
    with runtime.uow() as s:
        copied = audit.chain_events(s, chain)[-1].seal
    _forge(runtime, chain, seal=copied)
    assert ("broken", chain) in _kinds(_problems(runtime))


def test_rewriting_the_tail_is_found(history, runtime, db_url):
    chain = audit.case_chain(history[0])
    _drop_guards(db_url)
    _sql(db_url, "UPDATE audit_event SET data_after = :d WHERE chain = :c AND seq = 2",
         d=json.dumps({"amount": 1}), c=chain)
    _rehash_from(runtime, chain, 2)
    assert ("rewritten", chain) in _kinds(_problems(runtime))


def test_backdating_and_rehashing_is_found(history, runtime, db_url):
    chain = audit.case_chain(history[1])
    _drop_guards(db_url)
    _sql(db_url, "UPDATE audit_event SET created_at = :t WHERE chain = :c AND seq = 2",
         t="2026-01-01T00:00:00.000000+00:00", c=chain)
    _rehash_from(runtime, chain, 2)
    assert ("rewritten", chain) in _kinds(_problems(runtime))


def test_editing_the_case_state_is_found(history, runtime, db_url):
    number = history[0]
    _sql(db_url, "UPDATE process_case SET state = replace(state, '5000', '50') WHERE case_number = :n", n=number)
    problems = _problems(runtime)
    assert _kinds(problems) == {("state_edited", audit.case_chain(number))}
    # Also with the version bumped, as a tamperer imitating a real change would.
    _sql(db_url, "UPDATE process_case SET version = version + 1 WHERE case_number = :n", n=number)
    assert ("state_edited", audit.case_chain(number)) in _kinds(_problems(runtime, audit.case_chain(number)))


def test_deleting_a_whole_chain_is_found(history, runtime, db_url):
    chain = audit.case_chain(history[1])
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_event WHERE chain = :c", c=chain)
    assert ("chain_missing", chain) in _kinds(_problems(runtime))
    # The auditor's per-case check says so too, rather than "ok, 0 events".
    assert ("chain_missing", chain) in _kinds(_problems(runtime, chain))


def test_deleting_the_checkpoints_too_is_found_with_the_exported_copy(history, runtime, db_url, tmp_path):
    out = tmp_path / "checkpoint.json"
    runner = CliRunner()
    res = runner.invoke(app, ["--db", db_url, "audit", "checkpoint", "--latest", "--export", str(out)])
    assert res.exit_code == 0, res.output
    chain = audit.case_chain(history[0])
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_checkpoint")
    _sql(db_url, "DELETE FROM audit_event WHERE chain = :c", c=chain)
    res = runner.invoke(app, ["--db", db_url, "audit", "verify", "--checkpoint", str(out)])
    assert res.exit_code == 1 and "整条审计链被删除" in res.output and chain in res.output


def test_an_altered_or_foreign_checkpoint_is_refused(history, runtime):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from engine.audit_key import public_key_hex

    with runtime.uow() as s:
        doc = audit_anchor.export_document(audit_anchor.latest(s))
    altered = dict(doc, body=doc["body"].replace('"events":', '"events":1'))
    assert "签名无效" in _problems(runtime, document=altered)[0].message_zh
    other = Ed25519PrivateKey.generate()
    foreign = dict(doc, signature=other.sign(doc["body"].encode()).hex(), public_key=public_key_hex(other))
    assert "不是用本系统的审计密钥签名" in _problems(runtime, document=foreign)[0].message_zh


def test_cli_checkpoint_and_verify(history, runtime, db_url):
    runner = CliRunner()
    ok = runner.invoke(app, ["--db", db_url, "audit", "checkpoint", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output)["chains"] >= 2
    res = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert res.exit_code == 0 and "检查点" in res.output
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_event WHERE chain = :c AND seq = (SELECT MAX(seq) FROM audit_event WHERE chain = :c)",
         c=audit.case_chain(history[0]))
    res = runner.invoke(app, ["--db", db_url, "audit", "verify", history[0]])
    assert res.exit_code == 1 and "链尾事件缺失" in res.output


def test_periodic_checkpoint_only_when_due_and_changed(history, runtime, clock, actors):
    assert runtime.audit_checkpoint(if_due=True) is None  # one was just written
    clock.advance(seconds=audit_anchor.checkpoint_interval() + 1)
    assert runtime.audit_checkpoint(if_due=True) is None  # nothing new since
    runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    cp = runtime.audit_checkpoint(if_due=True)
    assert cp is not None and cp.events > 0


def test_the_auditor_page_and_api_show_the_checkpoint_and_what_is_missing(db_url, clock):
    from engine.runtime.actors import load_actor
    from engine.web.app import create_app
    from tests.conftest import make_runtime
    from tests.web.support import deploy_test_processes, logged_in, seed_demo

    rt = make_runtime(db_url, clock)
    seed_demo(rt)
    deploy_test_processes(rt)
    with rt.uow() as s:
        street = load_actor(s, "street")
    kept = rt.start_case("sample_review", "PK-JP-XC-01", street).case_number
    gone = rt.start_case("sample_review", "PK-JP-XC-01", street).case_number
    a = logged_in(create_app(rt.settings, clock), "auditor")
    assert "尚无审计检查点" in a.get("/audit").text
    rt.audit_checkpoint()
    page = a.get("/audit").text
    assert "最近一次" in page and "无缺失、无改写" in page
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_event WHERE chain = :c", c=audit.case_chain(gone))
    page = a.get("/audit/verify").text
    assert "整条审计链被删除" in page and gone in page and "全部完整" not in page
    api = a.get(f"/api/cases/{gone}/audit/verify").json()
    assert api["ok"] is False and api["events"] == 0 and api["anchor_problems"][0]["kind"] == "chain_missing"
    assert a.get(f"/api/cases/{kept}/audit/verify").json()["ok"] is True


def test_the_serve_timer_thread_writes_checkpoints(history, runtime, db_url, monkeypatch):
    import time

    from sqlalchemy import func, select

    from engine.commands import _common
    from engine.commands.serve import start_timer_thread
    from engine.db.models import AuditCheckpoint

    def count():
        with runtime.uow() as s:
            return s.scalar(select(func.count()).select_from(AuditCheckpoint))

    before = count()
    _common.STATE.db = db_url
    monkeypatch.setenv("HONGWU_AUDIT_CHECKPOINT_INTERVAL", "0")
    runtime.start_case("sample_review", "PK-JP-XC-01", _street(runtime))  # something new to sign over
    stop = start_timer_thread(0.1)
    try:
        for _ in range(50):
            if count() > before:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        _common.STATE.db = None
    assert count() == before + 1  # once: after that nothing changed


def _street(rt):
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        return load_actor(s, "street")


def test_events_from_before_the_upgrade_keep_their_hashes_and_are_anchored_by_the_first_checkpoint(runtime, db_url):
    """An event written by the previous version (no state hash, no seal) still hashes as before;
    until a checkpoint covers it, verify says it is unsealed."""
    import hashlib

    payload = {"chain": "user:old", "seq": 1, "case_id": None, "actor": "admin", "action": "user_created",
               "task_id": None, "task_name": None, "data_before": None, "data_after": None, "detail": None,
               "created_at": "2026-01-01T00:00:00.000000+00:00"}
    old_hash = hashlib.sha256((audit.GENESIS + audit.canonical_json(payload)).encode()).hexdigest()
    _sql(db_url, """INSERT INTO audit_event (chain, seq, actor, action, created_at, prev_hash, row_hash)
                    VALUES ('user:old', 1, 'admin', 'user_created', :t, :p, :h)""",
         t=payload["created_at"], p=audit.GENESIS, h=old_hash)
    with runtime.uow() as s:
        walk = audit.verify(s, "user:old")[0]
    assert not walk.ok and "no seal" in walk.reason  # the hash itself is fine
    runtime.audit_checkpoint()
    with runtime.uow() as s:
        assert audit.verify(s, "user:old")[0].ok
        assert audit_anchor.verify_anchor(s).ok


def test_doctor_names_the_audit_key_without_making_one(tmp_path, monkeypatch):
    from engine.audit_key import describe, public_key_hex

    monkeypatch.setenv("HONGWU_AUDIT_KEY_FILE", str(tmp_path / "absent.key"))
    usable, what = describe()
    assert not usable and "尚未生成" in what and not (tmp_path / "absent.key").exists()
    monkeypatch.undo()
    ours = public_key_hex()  # made on first use
    usable, what = describe()
    assert usable and ours in what


def test_deleting_the_last_event_is_found_by_the_case_row_before_any_checkpoint(runtime, actors, db_url):
    """No checkpoint covers the chain yet, so the walk alone would pass: the head the case row
    keeps (written with each change) says an event is gone."""
    deploy(runtime, [SAMPLE_BPMN], SAMPLE_FORMS)
    case = runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    runtime.complete_task(case.tasks[0]["id"], actors["street"], apply_data())
    chain = audit.case_chain(case.case_number)
    _drop_guards(db_url)
    _sql(db_url, "DELETE FROM audit_event WHERE chain = :c AND seq = (SELECT MAX(seq) FROM audit_event WHERE chain = :c)", c=chain)
    with runtime.uow() as s:
        assert audit.verify(s, chain)[0].ok  # what remains is a sound chain
    kinds = _kinds(_problems(runtime))
    assert ("head_mismatch", chain) in kinds and {c for _k, c in kinds} == {chain}
    res = CliRunner().invoke(app, ["--db", db_url, "audit", "verify", case.case_number])
    assert res.exit_code == 1 and "审计链头" in res.output and chain in res.output


def test_editing_the_chain_head_on_the_case_row_is_found(history, runtime, db_url):
    number = history[1]
    with runtime.uow() as s:
        first = audit.chain_events(s, audit.case_chain(number))[0]
    _sql(db_url, "UPDATE process_case SET audit_seq = 1, audit_head = :h WHERE case_number = :n", h=first.row_hash, n=number)
    assert _kinds(_problems(runtime)) == {("head_mismatch", audit.case_chain(number))}
    assert _kinds(_problems(runtime, audit.case_chain(history[0]))) == set()  # the other case is not blamed
