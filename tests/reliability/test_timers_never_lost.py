"""Timers that fall due while a case is changed by someone else still fire (issue 13, item 1)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine import audit
from engine.db.models import Case, HumanTask, Timer
from engine.runtime.errors import Conflict

AGREE = {"decision": "agree"}


def _actions(rt, number):
    with rt.uow() as s:
        return [e.action for e in audit.chain_events(s, audit.case_chain(number))]


def _open(case, name):
    return next(t["id"] for t in case.tasks if t["name"] == name)


def test_completion_after_a_due_timer_fires_it_first(parallel, actors, clock):
    """The repro: start, complete t1, move the clock 5 s, complete t2. SpiffWorkflow readied the
    1 s timer without running it and its row was dropped: the case waited for nothing, forever."""
    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)
    assert sorted(t["name"] for t in case.tasks) == ["t1", "t2"] and len(case.timers) == 2
    case = parallel.complete_task(_open(case, "t1"), street, AGREE)
    clock.advance(seconds=5)
    case = parallel.complete_task(_open(case, "t2"), street, AGREE)
    assert [t["name"] for t in case.tasks] == ["t3"]
    assert case.timers == []
    actions = _actions(parallel, case.case_number)
    # The timer fell due first, so it is recorded before the completion that found it due.
    assert actions[-2:] == ["timer_fired", "task_completed"]
    with parallel.uow() as s:
        fired = [e for e in audit.chain_events(s, audit.case_chain(case.case_number)) if e.action == "timer_fired"]
        assert fired[0].task_name == "等待一秒" and fired[0].actor == "system"
        assert audit.verify(s, audit.case_chain(case.case_number))[0].ok
    case = parallel.complete_task(_open(case, "t3"), street, AGREE)
    assert case.status == "completed"


def test_a_passed_deadline_lapses_the_task_before_a_late_completion(parallel, actors, clock):
    """t2's boundary deadline (10 s) passed before the completion arrived and before any worker
    ran: the deadline takes effect and is recorded; the late completion is refused with a 409."""
    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)
    clock.advance(seconds=11)
    with pytest.raises(Conflict) as err:
        parallel.complete_task(_open(case, "t2"), street, AGREE)
    assert "期限" in err.value.message_zh
    case = parallel.get_case(case.case_number, street)
    assert [t["name"] for t in case.tasks] == ["t1"] and case.timers == []
    actions = _actions(parallel, case.case_number)
    with parallel.uow() as s:
        deadline = [e for e in audit.chain_events(s, audit.case_chain(case.case_number))
                    if e.action == "timer_fired" and e.task_name == "任务二期限"]
        assert len(deadline) == 1 and "记录超期" in deadline[0].detail  # the lapse path ran
    assert actions.count("timer_fired") == 2 and actions[-1] == "refused:complete_task"
    assert "task_completed" not in actions


def test_a_worker_after_the_completion_finds_nothing_lost(parallel, actors, clock):
    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)
    clock.advance(seconds=2)
    assert parallel.run_due_timers("w1") == 1  # the 1 s timer, fired by the worker
    case = parallel.complete_task(_open(case, "t1"), street, AGREE)
    case = parallel.complete_task(_open(case, "t2"), street, AGREE)
    assert [t["name"] for t in case.tasks] == ["t3"]
    assert _actions(parallel, case.case_number).count("timer_fired") == 1


def _stuck(rt, case_number) -> str | None:
    """Why a case is stuck (running with nothing to wait for), or None. The derived rows must
    also match the workflow itself."""
    with rt.uow() as s:
        case = s.scalar(select(Case).where(Case.case_number == case_number))
        tasks = list(s.scalars(select(HumanTask.id).where(HumanTask.case_id == case.id)))
        timers = list(s.scalars(select(Timer.id).where(Timer.case_id == case.id)))
        if case.status == "running" and not tasks and not timers:
            return "running with neither a ready task nor a waiting timer"
        wf, _ = rt.workflow_for(s, case)
        from engine.runtime.service import _scan

        ready, waiting = _scan(wf)
        if set(ready) != set(tasks) or set(waiting) != set(timers):
            return "derived rows differ from the workflow"
        if not audit.verify(s, audit.case_chain(case_number))[0].ok:
            return "audit chain broken"
    return None


STEP = st.one_of(
    st.tuples(st.just("complete"), st.integers(0, 2)),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 1, 2, 5, 9, 11, 30])),
    st.tuples(st.just("worker"), st.just(0)),
)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=10))
def test_no_interleaving_of_completions_and_clock_moves_leaves_a_case_stuck(parallel, actors, clock, steps):
    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)
    for kind, arg in steps:
        if kind == "advance":
            clock.advance(seconds=arg)
        elif kind == "worker":
            parallel.run_due_timers("w")
            with parallel.uow() as s:
                left = s.scalars(select(Timer).where(Timer.case_id == case.id, Timer.due_at < clock.now())).all()
                assert not left, f"due timers left after the worker: {[(t.spec_name, t.due_at, t.claimed_by) for t in left]} {steps}"
        else:
            current = parallel.get_case(case.case_number, street)
            if not current.tasks:
                continue
            task = sorted(current.tasks, key=lambda t: t["name"])[arg % len(current.tasks)]
            try:
                parallel.complete_task(task["id"], street, AGREE)
            except Conflict:
                pass  # a deadline lapsed the task first
        problem = _stuck(parallel, case.case_number)
        assert problem is None, f"{problem} after {kind} {arg}"


def test_a_case_stuck_by_an_earlier_version_is_resumed_by_the_worker(parallel, actors, clock, cli):
    """What the old save left behind: SpiffWorkflow readied the due 1 s timer at the end of its
    engine steps without running it, and no task or timer row was kept."""
    from sqlalchemy import delete, update

    from engine.runtime import state
    from engine.runtime.clock import using_clock

    street = actors["street"]
    case = parallel.start_case("parallel_timer", "PK-JP-XC-01", street)
    case = parallel.complete_task(_open(case, "t1"), street, AGREE)
    with parallel.uow() as s:
        row = s.scalar(select(Case).where(Case.case_number == case.case_number))
        wf, _ = parallel.workflow_for(s, row)
        wf.script_engine = parallel._engine_for(s, row, street)
        with using_clock(clock):
            t2 = next(t for t in wf.get_tasks() if t.task_spec.name == "t2" and t.state == 16)
            t2.set_data(**AGREE)
            t2.run()
            wf.do_engine_steps()
            clock.advance(seconds=5)
            wf.refresh_timers()  # how the old do_engine_steps ended: the timer READY, never run
        s.execute(update(Case).where(Case.id == row.id).values(state=state.dumps(wf), version=row.version + 1))
        s.execute(delete(HumanTask).where(HumanTask.case_id == row.id))
        s.execute(delete(Timer).where(Timer.case_id == row.id))
    assert _stuck(parallel, case.case_number) == "running with neither a ready task nor a waiting timer"
    assert parallel.run_due_timers("w") == 0  # no row: the worker alone never saw it
    res = cli("worker", "--once")
    assert case.case_number in res.stderr
    case = parallel.get_case(case.case_number, street)
    assert [t["name"] for t in case.tasks] == ["t3"]
    assert _actions(parallel, case.case_number)[-1] == "timer_fired"
    assert parallel.resume_stuck_cases("w") == []  # nothing left; a second run changes nothing
