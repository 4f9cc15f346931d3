"""The head of a case's audit chain kept on the case row (migration 0020): written with the change
by the same UPDATE that checks the version, so a completion reads no chain; a concurrent writer is
still refused, and a row whose head disagrees with its chain is tamper evidence (test_tamper.py)."""
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from engine import audit, audit_anchor
from engine.db.models import AuditEvent, Case
from engine.db.session import engine_for
from engine.runtime.errors import Conflict, Forbidden
from tests.engine.support import apply_data


def _heads(rt, number):
    """(the case row's head, the chain's last event) as (seq, row_hash) pairs."""
    with rt.uow() as s:
        row = s.execute(select(Case.audit_seq, Case.audit_head).where(Case.case_number == number)).one()
        last = s.execute(select(AuditEvent.seq, AuditEvent.row_hash).where(AuditEvent.chain == audit.case_chain(number))
                         .order_by(AuditEvent.seq.desc()).limit(1)).one()
    return tuple(row), tuple(last)


def _problems(rt, number=None):
    with rt.uow() as s:
        return audit_anchor.verify_anchor(s, chain=audit.case_chain(number) if number else None).problems


def test_the_case_row_follows_its_chain_through_every_kind_of_change(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    row, last = _heads(sample, case.case_number)
    assert row == last and row[0] >= 1
    view = sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data())
    assert _heads(sample, case.case_number)[0] == _heads(sample, case.case_number)[1]
    # A refusal is appended in a transaction of its own: the head follows it too.
    with pytest.raises(Forbidden):  # not street staff's step
        sample.complete_task(view.tasks[0]["id"], actors["street"], {})
    row, last = _heads(sample, case.case_number)
    assert row == last and row[0] > 2
    sample.add_comment(case.case_number, actors["street"], "请尽快办理")
    row, last = _heads(sample, case.case_number)
    assert row == last
    assert _problems(sample) == []


def _statements(db_url, work):
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    engine = engine_for(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_completion_reads_no_chain_and_writes_its_case_row_once(sample, actors, db_url):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    seen = _statements(db_url, lambda: sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data()))
    assert [s for s in seen if s.startswith("SELECT") and "FROM audit_event" in s] == []
    assert len([s for s in seen if "UPDATE process_case" in s]) == 1
    # Who holds the task and whether the holiday schedules changed come with the locking read.
    assert [s for s in seen if s.startswith(("SELECT task_claim", "SELECT coalesce(max(setting_version"))] == []
    if db_url.startswith("postgresql"):
        assert [s for s in seen if s.startswith("SELECT process_case.audit_seq")] == []  # locked: current
        # The event and the search text go with the case row's UPDATE, in one statement.
        (write,) = [s for s in seen if "UPDATE process_case" in s]
        assert write.startswith("WITH") and "INSERT INTO audit_event" in write and "INSERT INTO case_search" in write
        assert [s for s in seen if s.startswith(("INSERT INTO audit_event", "INSERT INTO case_search"))] == []
    assert _heads(sample, case.case_number)[0] == _heads(sample, case.case_number)[1]


def test_a_writer_whose_version_moved_meanwhile_is_refused_and_writes_nothing(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    before = _heads(sample, case.case_number)
    with pytest.raises(Conflict):
        with sample.uow() as s:
            stale = s.scalar(select(Case).where(Case.id == case.id))  # read, not locked
            # Meanwhile another change of the case commits.
            other = sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data())
            audit.stage_case_write(s, stale, {"summary": '{"ours": 1}', "version": stale.version + 1},
                                   expected_version=stale.version)
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor="street1",
                         action="task_completed", now=sample.now())
    after = _heads(sample, case.case_number)
    assert after[0] == after[1] and after != before  # the other change's head, nothing of ours
    with sample.uow() as s:
        assert s.execute(select(Case.version, Case.summary).where(Case.id == case.id)).one() == (
            other.version, '{}')
    assert _problems(sample) == []


def test_a_head_read_before_another_append_is_refused(sample, actors):
    """The locked read primes the head; were it stale, the chain's unique position refuses it."""
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    with pytest.raises((IntegrityError, Conflict)):
        with sample.uow() as s:
            stale = s.scalar(select(Case).where(Case.id == case.id))
            audit.case_row_locked(s, stale)
            sample.add_comment(case.case_number, actors["street"], "先到先记")  # commits seq + 1
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor="street1",
                         action="comment_added", now=sample.now())
    row, last = _heads(sample, case.case_number)
    assert row == last
    assert _problems(sample) == []


def test_the_head_written_is_the_one_verify_walks_to(sample, actors, db_url):
    number = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"]).case_number
    with engine_for(db_url).begin() as conn:
        conn.execute(text("UPDATE process_case SET audit_seq = audit_seq + 1 WHERE case_number = :n"), {"n": number})
    kinds = {(p.kind, p.chain) for p in _problems(sample, number)}
    assert kinds == {("head_mismatch", audit.case_chain(number))}


def test_events_appended_after_a_save_are_written_with_it_in_order(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    for n in (1, 3):  # one event rides inside the UPDATE; several go just before it
        with sample.uow() as s:
            row = s.scalar(select(Case).where(Case.id == case.id))
            audit.stage_case_write(s, row, {"version": row.version + 1}, expected_version=row.version)
            for i in range(n):
                audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor="system",
                             action="timer_fired", detail={"i": i}, now=sample.now())
    with sample.uow() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.chain == audit.case_chain(case.case_number))
                                .order_by(AuditEvent.id)))
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert s.scalar(select(Case.version).where(Case.id == case.id)) == case.version + 2
    row, last = _heads(sample, case.case_number)
    assert row == last == (events[-1].seq, events[-1].row_hash)
