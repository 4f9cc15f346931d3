"""Engine benchmark: task completions through the service layer on SQLite (WAL file) and
PostgreSQL, against the in-memory floor (SpiffWorkflow deserialize + run + serialize) measured in
the same run. Prints one JSON object.

Targets (2-core machine): ≥ 250 completions/s on SQLite, ≥ 200/s on PostgreSQL, persisted cycle
≤ 2.5× the floor (PostgreSQL ≤ 3×), ≤ 30 KB stored state per case of the 25-task process.

`statements_per_completion_<db>` counts what one completion (a step that readies the next) sends,
BEGIN and COMMIT aside. It went from 13 to 7 on PostgreSQL, 13 to 9 on SQLite (issue 17 item 4):
  0 on PostgreSQL, SET LOCAL plan_cache_mode = auto: the connections force custom plans (for the
    lists' jurisdiction prefixes), which would plan each statement below anew (~1 ms a completion);
  1 the locking read of the task and its case — now also brings the task's claim (was a SELECT of
    task_claim) and the newest holiday schedule mark (was a SELECT max(setting_version.id));
  2 the finished task's DELETE; 3 the next task's INSERT;
  4 the new task's pool with their notification preferences (were two SELECTs); 5 its notification;
  6 one UPDATE of the case row: state and version (checked) with the new chain head (checked),
    carrying on PostgreSQL, as WITH clauses, the search text upsert and the audit event's INSERT
    (were statements of their own). No SELECT of the chain's last event: the head is on the row;
  no SELECT of claims for the returned tasks when every open task was made by this save.
SQLite sends the search text and the event as statements of their own (no round trips there) and
reads the chain head from the case row inside its write transaction (the locking read runs
before that transaction begins there).
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

# This file is named engine.py, like the package: keep bench/ itself off the import path.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import create_engine, event, select, text  # noqa: E402

from bench._chain import STEPS, write_chain_process  # noqa: E402
from engine import demo  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.migrate import upgrade  # noqa: E402
from engine.db.models import Case  # noqa: E402
from engine.db.session import engine_for  # noqa: E402
from engine.runtime import state  # noqa: E402
from engine.runtime.actors import load_actor  # noqa: E402
from engine.runtime.clock import FrozenClock  # noqa: E402
from engine.runtime.scripting import HongwuScriptEngine  # noqa: E402
from engine.runtime.service import Runtime, deploy  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "40"))
FORM = {"ok": True, "note": "同意"}


def _summary(latencies: list[float], wall: float) -> dict:
    lat = sorted(latencies)
    return {
        "completions": len(lat),
        "completions_per_s": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p95_ms": round(lat[int(0.95 * (len(lat) - 1))] * 1000, 3),
    }


def _prepare(url: str, tmp: Path, cache: int = 256) -> Runtime:
    upgrade(url)
    rt = Runtime(Settings(database_url=url, secret_key="bench", workflow_cache_size=cache),
                 FrozenClock(datetime(2026, 11, 23, 2, tzinfo=UTC)))
    with rt.uow() as s:
        demo.seed(s, rt.now(), password=None)
    bpmn_dir, forms_dir = write_chain_process(tmp)
    deploy(rt, [bpmn_dir], forms_dir)
    return rt


def statements_per_completion(url: str, tmp: Path) -> int:
    """Statements one completion sends (it readies the next task), counted on the driver's cursor."""
    rt = _prepare(url, tmp)
    with rt.uow() as s:
        actor = load_actor(s, "street")
    case = rt.start_case("bench_chain", "PK-JP-XC-01", actor)
    view = rt.complete_task(case.tasks[0]["id"], actor, FORM)  # caches warm, the case in memory
    count = 0

    def counted(*_args) -> None:
        nonlocal count
        count += 1

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", counted)
    try:
        rt.complete_task(view.tasks[0]["id"], actor, FORM)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def bench_persisted(url: str, tmp: Path, cache: int = 256) -> tuple[dict, int]:
    """Complete every task of CASES cases, one step of each case in turn. `cache` = 0 turns off
    the in-memory workflow cache, so every completion deserializes the stored state."""
    rt = _prepare(url, tmp, cache)
    with rt.uow() as s:
        actor = load_actor(s, "street")
    # Warm up: parse the definition, JIT-free but caches (compiled scripts, schemas) filled.
    warm = rt.start_case("bench_chain", "PK-JP-XC-01", actor)
    rt.complete_task(warm.tasks[0]["id"], actor, FORM)
    cases = [rt.start_case("bench_chain", "PK-JP-XC-01", actor) for _ in range(CASES)]
    pending = [c.tasks[0]["id"] for c in cases]
    latencies: list[float] = []
    wall_start = time.perf_counter()
    for _step in range(STEPS):
        nxt = []
        for task_id in pending:
            t0 = time.perf_counter()
            view = rt.complete_task(task_id, actor, FORM)
            latencies.append(time.perf_counter() - t0)
            if view.tasks:
                nxt.append(view.tasks[0]["id"])
        pending = nxt
    wall = time.perf_counter() - wall_start
    with rt.uow() as s:
        sizes = [len(x.encode()) for x in s.scalars(select(Case.state).where(Case.status == "completed"))]
    return _summary(latencies, wall), max(sizes)


def bench_floor(url: str, tmp: Path) -> dict:
    """The same completions with no database: deserialize, run, serialize."""
    rt = _prepare(url, tmp)
    with rt.uow() as s:
        actor = load_actor(s, "street")
        case = rt.start_case("bench_chain", "PK-JP-XC-01", actor)
        row = s.scalar(select(Case).where(Case.case_number == case.case_number))
        _pd, loaded = rt.loaded_definition(s, row.definition_id)
    initial = row.state
    latencies: list[float] = []
    wall_start = time.perf_counter()
    for _ in range(CASES):
        blob = initial
        for _step in range(STEPS):
            t0 = time.perf_counter()
            wf = state.loads(blob, loaded.spec, loaded.subprocess_specs)
            wf.script_engine = HongwuScriptEngine(None)
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(**FORM)
            task.run()
            wf.do_engine_steps()
            blob = state.dumps(wf)
            latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - wall_start
    return _summary(latencies, wall)


def _pg_scratch() -> tuple[str, callable] | None:
    base = os.environ.get("HONGWU_TEST_PG_URL")
    if not base:
        return None
    name = f"hongwu_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        from engine.db.session import engine_for

        engine_for(base.rsplit("/", 1)[0] + "/" + name).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.rsplit("/", 1)[0] + "/" + name, drop


def main() -> None:
    out: dict = {"cases": CASES, "tasks_per_case": STEPS}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out["floor"] = bench_floor(f"sqlite:///{tmp / 'floor.db'}", tmp / "f")
        out["sqlite"], size = bench_persisted(f"sqlite:///{tmp / 'bench.db'}", tmp / "s")
        out["state_bytes_per_case"] = size
        out["sqlite_no_cache"], _ = bench_persisted(f"sqlite:///{tmp / 'bench_nc.db'}", tmp / "snc", cache=0)
        out["statements_per_completion_sqlite"] = statements_per_completion(f"sqlite:///{tmp / 'count.db'}", tmp / "sc")
        out["postgresql"] = out["postgresql_no_cache"] = out["statements_per_completion_postgresql"] = None
        for key, cache in (("postgresql", 256), ("postgresql_no_cache", 0), ("count", 256)):
            pg = _pg_scratch()
            if pg is None:
                break
            url, drop = pg
            try:
                if key == "count":
                    out["statements_per_completion_postgresql"] = statements_per_completion(url, tmp / key)
                else:
                    out[key], _ = bench_persisted(url, tmp / key, cache=cache)
            finally:
                drop()
    floor = out["floor"]["p50_ms"]
    for key in ("sqlite", "sqlite_no_cache", "postgresql", "postgresql_no_cache"):
        if out.get(key):
            out[f"ratio_{key}_to_floor"] = round(out[key]["p50_ms"] / floor, 2)
    out["targets"] = {"sqlite_completions_per_s": 250, "postgresql_completions_per_s": 200,
                      "max_ratio_to_floor": 2.5, "max_ratio_postgresql_to_floor": 3,
                      "max_state_bytes_per_case": 30_000}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
