"""Jobs survive kill -9: three worker processes on PostgreSQL run the async steps of several
cases; one is killed in the middle of a step. Its attempt rolled back with it, its lease runs
out, another worker runs the step again, and every step's effect is committed exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import audit
from engine.db.job_models import Job
from engine.db.models import Attachment, Case, HumanTask
from engine.runtime.service import deploy
from tests.conftest import make_runtime
from tests.engine.job_support import ASYNC_BPMN, FORMS

ROOT = Path(__file__).resolve().parents[2]
CASES = 6
PAGES = 8  # × 0.25 s a page: a step takes 2 s, long enough to be killed in the middle


def _worker(url: str, stop: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HONGWU_JOB_LEASE_SECONDS": "2",
           "HONGWU_TEST_PAGE_SECONDS": "0.25", "HONGWU_SECRET_KEY": "x"}
    return subprocess.Popen([sys.executable, "-m", "tests.engine.job_worker", url, str(stop)], cwd=ROOT, env=env)


@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_one_killed_mid_job_effects_exactly_once(pg_url, clock, tmp_path):
    from engine import demo
    from engine.runtime.actors import load_actor

    rt = make_runtime(pg_url, clock)
    with rt.uow() as s:
        demo.seed(s, clock.now(), password=None)
        street = load_actor(s, "street")
    deploy(rt, [ASYNC_BPMN], FORMS)
    numbers = []
    for _ in range(CASES):
        view = rt.start_case("async_step", "PK-JP-XC-01", street)
        rt.complete_task(view.tasks[0]["id"], street, {"applicant": "张三", "amount": PAGES, "review_days": 7})
        numbers.append(view.case_number)

    stop = tmp_path / "stop"
    workers = {}
    for _ in range(3):
        p = _worker(pg_url, stop)
        workers[p.pid] = p
    killed = None
    try:
        deadline = time.monotonic() + 60
        while killed is None and time.monotonic() < deadline:  # a worker in the middle of a step
            with rt.uow() as s:
                busy = s.execute(select(Job.id, Job.claimed_by).where(Job.progress_done >= 2,
                                                                      Job.progress_done < PAGES)).all()
            for job_id, who in busy:
                pid = int(who.rsplit(":", 1)[1])
                if pid in workers:
                    os.kill(pid, signal.SIGKILL)
                    workers.pop(pid).wait()
                    killed = (job_id, who)
                    break
            time.sleep(0.05)
        assert killed is not None, "no worker was seen in the middle of a step"
        while time.monotonic() < deadline:
            with rt.uow() as s:
                if not s.scalar(select(func.count()).select_from(Job)):
                    break
            time.sleep(0.2)
    finally:
        stop.touch()
        for p in workers.values():
            p.wait(timeout=30)

    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0, "steps left undone"
        for number in numbers:
            case_id = s.scalar(select(Case.id).where(Case.case_number == number))
            assert s.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case_id)) == 1
            events = audit.chain_events(s, audit.case_chain(number))
            assert [e.action for e in events].count("job_completed") == 1
            assert s.scalar(select(HumanTask.spec_name).where(HumanTask.case_id == case_id)) == "review"
            assert all(r.ok for r in audit.verify(s, audit.case_chain(number)))
        # The killed worker's step was finished by another worker.
        [done] = s.scalars(select(audit.AuditEvent).where(audit.AuditEvent.action == "job_completed",
                                                         audit.AuditEvent.task_id == killed[0])).all()
        assert done.actor != f"worker:{killed[1]}"
