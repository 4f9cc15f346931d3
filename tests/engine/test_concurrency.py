"""Concurrent writers: no lost update, no timer fired twice."""
import multiprocessing as mp
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import audit
from engine.db.models import AuditEvent, Case, Timer
from tests.engine.support import apply_data, complete_in_subprocess, worker_in_subprocess


def test_two_processes_complete_the_same_task_exactly_one_wins(sample, actors, db_url):
    ctx = mp.get_context("spawn")
    for _round in range(3):
        case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
        task_id = case.tasks[0]["id"]
        barrier = ctx.Manager().Barrier(2)
        with ctx.Pool(2) as pool:
            results = pool.starmap(complete_in_subprocess, [
                (db_url, task_id, "street", barrier, apply_data(amount=10)),
                (db_url, task_id, "street", barrier, apply_data(amount=99999)),
            ])
        assert sorted(results) == ["conflict", "ok"]
        with sample.uow() as s:
            events = audit.chain_events(s, audit.case_chain(case.case_number))
            assert [e.action for e in events].count("task_completed") == 1
            assert [e.action for e in events].count("refused:complete_task") == 1
            assert audit.verify(s, audit.case_chain(case.case_number))[0].ok
        final = sample.get_case(case.case_number, actors["street"])
        assert final.version == case.version + 1


@pytest.mark.slow
def test_three_workers_fire_300_timers_exactly_once(pg_url, clock):
    from engine import demo
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy
    from tests.conftest import make_runtime
    from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS

    rt = make_runtime(pg_url, clock)
    with rt.uow() as s:
        demo.seed(s, clock.now(), password=None)
    deploy(rt, [SAMPLE_BPMN], SAMPLE_FORMS)
    with rt.uow() as s:
        street = load_actor(s, "street")
    for i in range(300):
        case = rt.start_case("sample_review", "PK-JP-XC-01", street)
        rt.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=1 + i % 5))
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Timer)) == 300
    later = (clock.now() + timedelta(days=30)).isoformat()
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(3)
    with ctx.Pool(3) as pool:
        fired = pool.starmap(worker_in_subprocess, [(pg_url, f"w{i}", later, barrier) for i in range(3)])
    assert sum(fired) == 300
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Timer)) == 0
        per_timer = s.execute(select(AuditEvent.task_id, func.count()).where(AuditEvent.action == "timer_fired")
                              .group_by(AuditEvent.task_id)).all()
        assert len(per_timer) == 300 and all(n == 1 for _, n in per_timer)
        assert s.scalar(select(func.count()).select_from(Case).where(Case.status == "completed")) == 300
        assert all(r.ok for r in audit.verify(s))
