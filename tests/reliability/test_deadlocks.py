"""One lock order and a bounded retry: users see success or a 409, workers never die of a
database error (issue 13, item 2)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import OperationalError

from engine import audit
from engine.runtime.errors import Conflict
from engine.runtime.service import Runtime

AGREE = {"decision": "agree"}


class _PgError(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE process_case ...", {}, _PgError("40P01"))


def _open(case, name):
    return next(t["id"] for t in case.tasks if t["name"] == name)


def _actions(rt, number):
    with rt.uow() as s:
        return [e.action for e in audit.chain_events(s, audit.case_chain(number))]


def test_a_lost_deadlock_runs_the_whole_completion_again(parallel, actors, monkeypatch):
    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)
    real = Runtime._complete
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        result = real(self, *args, **kwargs)
        if len(calls) == 1:  # the first attempt did all its work, then lost the race
            raise _deadlock()
        return result

    monkeypatch.setattr(Runtime, "_complete", flaky)
    view = parallel.complete_task(_open(case, "t1"), street, AGREE)
    assert len(calls) == 2 and view.version == case.version + 1
    assert _actions(parallel, case.case_number).count("task_completed") == 1


def test_a_deadlock_every_time_ends_in_a_conflict_and_changes_nothing(parallel, actors, monkeypatch):
    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)

    def always(self, *args, **kwargs):
        raise _deadlock()

    monkeypatch.setattr(Runtime, "_complete", always)
    monkeypatch.setattr("engine.runtime.service.time.sleep", lambda _s: None)
    with pytest.raises(Conflict) as err:
        parallel.complete_task(_open(case, "t1"), street, AGREE)
    assert "稍后重试" in err.value.message_zh
    assert parallel.get_case(case.case_number, street).version == case.version
    assert _actions(parallel, case.case_number) == ["case_started"]


def test_other_database_errors_are_not_retried(parallel, actors, monkeypatch):
    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)
    calls = []

    def broken(self, *args, **kwargs):
        calls.append(1)
        raise OperationalError("SELECT", {}, _PgError("53300"))  # too many connections

    monkeypatch.setattr(Runtime, "_complete", broken)
    with pytest.raises(OperationalError):
        parallel.complete_task(_open(case, "t1"), street, AGREE)
    assert len(calls) == 1


def test_the_worker_loop_survives_a_database_error(runtime, monkeypatch):
    """`hongwu worker` logs, backs off and goes on (it used to exit rc=1)."""
    from typer.testing import CliRunner

    from engine.cli import app

    runs = []

    def run_due_timers(self, worker_id=None, batch=50):
        runs.append(1)
        if len(runs) == 1:
            raise _deadlock()
        if len(runs) == 2:
            raise OperationalError("SELECT 1", {}, _PgError("57P01"))  # the server restarting
        raise KeyboardInterrupt

    monkeypatch.setattr(Runtime, "run_due_timers", run_due_timers)
    monkeypatch.setattr("engine.commands.worker.time.sleep", lambda _s: None)
    res = CliRunner().invoke(app, ["--db", runtime.url, "worker", "--interval", "0.01"])
    assert res.exit_code == 0, res.output
    assert len(runs) == 3 and "重试" in res.output


@pytest.mark.slow
def test_completions_racing_timer_firings_on_postgresql(pg_url, clock):
    """Forced races: for each case a completion and a worker firing the due timer start at the
    same moment. Before, fire_timer locked the timer then the case and a completion the case then
    the timer: DeadlockDetected → a 500 or a dead worker. Now: success or a clear conflict."""
    from engine import demo
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy
    from tests.conftest import make_runtime
    from tests.engine.support import SAMPLE_FORMS
    from tests.reliability.conftest import PARALLEL_TIMER_BPMN

    rt = make_runtime(pg_url, clock)
    with rt.uow() as s:
        demo.seed(s, clock.now(), password=None)
    deploy(rt, [PARALLEL_TIMER_BPMN], SAMPLE_FORMS)
    with rt.uow() as s:
        street = load_actor(s, "street")
    cases = []
    for _ in range(12):
        case = rt.start_case("parallel_timer", "PK-JP-XC-01", street)
        cases.append(rt.complete_task(_open(case, "t1"), street, AGREE))
    clock.advance(seconds=5)  # the 1 s timers are due; t2 still open (its deadline is 10 s)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def complete(case, barrier):
        barrier.wait()
        try:
            rt.complete_task(_open(case, "t2"), street, AGREE)
            outcomes.append("completed")
        except Conflict:
            outcomes.append("conflict")
        except BaseException as exc:  # any other error is the failure under test
            errors.append(exc)

    def fire(worker_id, barrier):
        barrier.wait()
        try:
            rt.run_due_timers(worker_id, batch=3)
        except BaseException as exc:
            errors.append(exc)

    barrier = threading.Barrier(len(cases) + 2)
    threads = [threading.Thread(target=complete, args=(c, barrier)) for c in cases]
    threads += [threading.Thread(target=fire, args=(f"w{i}", barrier)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert outcomes.count("completed") == len(cases)  # no completion was lost to a race
    with rt.uow() as s:
        for case in cases:
            events = audit.chain_events(s, audit.case_chain(case.case_number))
            actions = [e.action for e in events]
            assert actions.count("timer_fired") == 1 and actions.count("task_completed") == 2, actions
            assert audit.verify(s, audit.case_chain(case.case_number))[0].ok
    for case in cases:
        assert [t["name"] for t in rt.get_case(case.case_number, street).tasks] == ["t3"]
    assert rt.run_due_timers("late") == 0


def test_timer_firing_locks_the_case_before_the_timer(pg_url, clock):
    """The lock order itself: while a completion holds the case row, a worker firing the case's
    timer waits for the case and holds no lock on the timer row (before, it locked the timer first
    and the completion, about to delete that row, deadlocked with it)."""
    from sqlalchemy import text

    from engine import demo
    from engine.db.session import engine_for
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy
    from tests.conftest import make_runtime
    from tests.engine.support import SAMPLE_FORMS
    from tests.reliability.conftest import PARALLEL_TIMER_BPMN

    rt = make_runtime(pg_url, clock)
    with rt.uow() as s:
        demo.seed(s, clock.now(), password=None)
    deploy(rt, [PARALLEL_TIMER_BPMN], SAMPLE_FORMS)
    with rt.uow() as s:
        street = load_actor(s, "street")
    case = rt.start_case("parallel_timer", "PK-JP-XC-01", street)
    clock.advance(seconds=5)
    [(timer_id, case_id)] = [c for c in rt.claim_due_timers("w1") if c[1] == case.id]
    done = []
    with engine_for(rt.url).connect() as holder:
        holder.execute(text("SELECT id FROM process_case WHERE id = :id FOR UPDATE"), {"id": case_id})
        worker = threading.Thread(target=lambda: done.append(rt.fire_timer(timer_id, "w1")))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive()  # waiting for the case row
        # The timer row is free: a completion holding the case could delete it now.
        holder.execute(text("SELECT id FROM timer WHERE id = :id FOR UPDATE NOWAIT"), {"id": timer_id})
        holder.rollback()
    worker.join(30)
    assert done == [True]
