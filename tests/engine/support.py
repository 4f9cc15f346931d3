"""Shared helpers of the engine tests."""
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SAMPLE_BPMN = FIXTURES / "bpmn"
SAMPLE_FORMS = FIXTURES / "forms"
PG_TEST_URL_HELP = "HONGWU_TEST_PG_URL"


def apply_data(amount=5000, days=7):
    return {"applicant": "张三", "amount": amount, "review_days": days}


def complete_in_subprocess(url: str, task_id: str, username: str, barrier, data: dict) -> str:
    """Run in a separate process: wait for the others, then complete the task."""
    from engine.config import Settings
    from engine.runtime.actors import load_actor
    from engine.runtime.errors import Conflict
    from engine.runtime.service import Runtime

    rt = Runtime(Settings(database_url=url, secret_key="x"))
    with rt.uow() as s:
        actor = load_actor(s, username)
    barrier.wait()
    try:
        rt.complete_task(task_id, actor, data)
        return "ok"
    except Conflict:
        return "conflict"


def worker_in_subprocess(url: str, worker_id: str, now_iso: str, barrier) -> int:
    from datetime import datetime

    from engine.config import Settings
    from engine.runtime.clock import FrozenClock
    from engine.runtime.service import Runtime

    rt = Runtime(Settings(database_url=url, secret_key="x"), FrozenClock(datetime.fromisoformat(now_iso)))
    barrier.wait()
    return rt.run_due_timers(worker_id, batch=10)
