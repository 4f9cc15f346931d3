"""City-scale benchmark on PostgreSQL: a million cases and their audit chains. Prints one JSON object.

Set-up: a scratch database gets the demo organisations plus a generated city (districts → streets
→ communities → compounds), and the demo cases are run through the service layer so there are
real workflow states, task rows and audit chains of all three processes. Those are the templates:
every bulk case copies one template's state, summary and open task rows into a compound of the
city, and its audit chain replays the template's events — each re-hashed and re-sealed for its own
chain, so every chain verifies. Task ids are the case's own (md5 of case id and template task id,
in its task rows and its events alike), so the task_id index is as big as real ids make it.

The load (profiled on the 2-core machine; before, 35,000–54,000 events/s, 20 M events out of reach):
- Case and task rows are copied by PostgreSQL itself from the templates (INSERT … SELECT, one
  statement per chunk): the template's 13.8 kB of state stays TOAST-compressed. Sent by COPY, the
  server pglz-compressed it again for every case — 6,100 cases/s, half its time in the old load.
- Audit events are made by WORKERS processes as bytes (the template's canonical JSON and COPY line
  as %-formats; str.format and encoding were most of the generation) and each process COPYs its
  own on its own connection, with its chunk's cases and tasks, one transaction per CHUNK cases (no
  more pickling 130 MB a chunk to the parent).
- Secondary indexes, unique keys no foreign key leans on, and foreign keys are dropped first and
  built after (1 GB maintenance_work_mem, two at a time; `indexes_built_after_load_s`): a sort per
  index instead of 20 M insertions (COPY into audit_event runs 2.2× faster without its four
  indexes). Not used: unlogged tables, COPY FREEZE (it needs the tables truncated in the loading
  transaction, on one connection).
`load_wait_generate_s` is the loaders' time making events, `load_copy_s` their time waiting on
PostgreSQL (`load_cases_tasks_sql_s` of it for the case and task rows), summed over WORKERS.

Then, through the real code (FastAPI pages over a TestClient, the audit module):
- inbox: `/inbox` of the demo street's staff (their street holds 1/STREETS of the city);
- case page: `/cases/{number}` of bulk cases picked at random in that street;
- dashboard: `/dashboard/{street}` (all three reports and the overdue tasks);
- audit verify of one case's chain, and of every chain, streamed (`audit.verify_all_streamed`),
  bounded to VERIFY_ALL_S seconds: events/s and the extrapolated time for the whole table;
- `pg_total_relation_size` of the tables per case.

Its floor, measured in the same run: `SELECT 1` round trip and the same pages on the demo-only
database before the bulk load (`*_floor_p50_ms`). Targets: inbox p50 ≤ 50 ms, case page ≤ 100 ms,
dashboard ≤ 1 s, one chain ≤ 50 ms.

Indexes the measured queries use (EXPLAIN ANALYZE, 400,000 cases); none had to be added:
- inbox counts and the navigation badge: ix_task_org_prefix (org_path varchar_pattern_ops, role,
  due_at), capped at 1,000 (badge 100) rows; its page: the page's 51 task ids first (ix_task_role_due
  or ix_task_role_created walked in order, filtered to the street, or ix_task_org_prefix), then
  joined by primary key to their cases and compounds;
- case page: the unique keys (case number, audit (chain, seq)); verify one chain: (chain, seq);
- dashboard: ix_case_process_org_prefix for a street's cases of a process, ix_audit_event_case_id
  for their events (prior review), ix_task_org_prefix for the overdue tasks.
The inbox grew with the data (6.6 ms → 40 ms at 330,000 cases) through plans, not indexes:
psycopg prepares a statement run five times and PostgreSQL then planned `org_path LIKE $1 || '%'`
generically, without the prefix index, reading every task of the role in the city. Connections
now plan each run (engine/db/session.py).

What grows faster than linearly: building the indexes after the load (sorts, n log n: 17 s for
8 M events, 43–60 s for 20 M, as busy as the machine was). Linear in a street's cases: the
dashboard's reports (every case of a process in the period; prior review also reads their events)
— 605–620 ms with 9,900 cases a street.
Linear in the table: verifying every chain (one pass, constant memory). Bounded by the page: the
inbox and the case page.

Size: HONGWU_BENCH_SCALE_CASES (default 1,000,000) and HONGWU_BENCH_SCALE_EVENTS (audit events per
case, default 20 → 20,000,000). The whole bench stays under WALL_S: on a machine too busy for the
full size, the load stops early and `extrapolated_full_load_s` / `extrapolated_full_indexes_s`
say how long the full size would take. Needs HONGWU_TEST_PG_URL.
"""
from __future__ import annotations

import hmac
import itertools
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
ROOT = _BENCH.parent
# bench/http.py would shadow the standard library's package: keep bench/ itself off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from bench._pg import throwaway_database

CASES = int(os.environ.get("HONGWU_BENCH_SCALE_CASES", "1000000"))
EVENTS_PER_CASE = int(os.environ.get("HONGWU_BENCH_SCALE_EVENTS", "20"))
# A city: 10 districts × 10 streets × 8 communities × 12 compounds (9,600 compounds), plus the demo
# street, which gets its share like any other.
DISTRICTS, STREETS_PER, COMMUNITIES_PER, COMPOUNDS_PER = 10, 10, 8, 12
STREETS = DISTRICTS * STREETS_PER + 1
CHUNK = 5000  # cases per transaction
COPY_BATCH = 100  # cases per write to COPY: PostgreSQL takes one batch while the next is made
WORKERS = int(os.environ.get("HONGWU_BENCH_SCALE_WORKERS", "3"))
# The whole bench stays under five minutes: loading stops (and what was loaded is measured, the
# figures saying how far it got) when building the indexes afterwards — about AFTER_LOAD of the
# load's own time, VACUUM included — and the measurements (AFTER_INDEXES_S) would pass WALL_S.
# HONGWU_BENCH_SCALE_LOAD_S caps the load's time outright.
WALL_S = float(os.environ.get("HONGWU_BENCH_SCALE_WALL_S", "290"))
LOAD_BUDGET_S = float(os.environ.get("HONGWU_BENCH_SCALE_LOAD_S", "inf"))
AFTER_LOAD = 0.6
REQUESTS = 30
VERIFY_ALL_S = float(os.environ.get("HONGWU_BENCH_SCALE_VERIFY_S", "20"))
AFTER_INDEXES_S = VERIFY_ALL_S + 15
NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)
TARGETS = {"inbox_p50_ms": 50, "case_page_p50_ms": 100, "dashboard_ms": 1000, "verify_one_case_ms": 50}

# Set in the parent before the pool forks: what every worker copies from.
_T: dict = {}


_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def _copy_text(value) -> str:
    """One field in COPY text format."""
    if value is None:
        return "\\N"
    s = str(value)
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def _worker_start(url: str) -> None:
    """Each loader process has a connection of its own: rows go from where they are made to
    PostgreSQL, not through the parent."""
    import psycopg

    _T["conn"] = psycopg.connect(url)


def load_chunk(start: int) -> dict[str, float]:
    """Cases start..start+CHUNK, in one transaction: the case and task rows copied by PostgreSQL
    itself from the templates (INSERT … SELECT: the template's state stays TOAST-compressed, where
    COPY would compress 13 kB of state per case again), then their audit events by COPY, each
    event hashed and sealed exactly as engine.audit.append does (checked against
    engine.audit.compute_hash for the first case of every chunk)."""
    import hashlib
    import uuid
    from binascii import hexlify

    from engine.audit import canonical_json, case_chain, compute_hash
    from engine.db.models import AuditEvent

    conn, templates, key = _T["conn"], _T["templates"], _T["seal_key"]
    first_id, first_event = _T["first_id"], _T["first_event"]
    end = min(start + CHUNK, CASES)
    t0 = time.perf_counter()
    params = {"first_id": first_id, "start": start, "end": end, "tids": [t["id"] for t in templates],
              "nt": len(templates), "cids": [c for c, _ in _T["compounds"]], "paths": [p for _, p in _T["compounds"]],
              "nc": len(_T["compounds"]), "now": NOW}
    conn.execute(CASES_SQL, params)
    conn.execute(TASKS_SQL, params)
    sql_s = time.perf_counter() - t0
    gen_s = 0.0
    sha256, seal = hashlib.sha256, hmac.digest
    suffix = [b"%02d.000000+00:00" % seq for seq in range(EVENTS_PER_CASE + 1)]
    with conn.cursor() as cur, cur.copy(f"COPY audit_event ({EVENT_COLS}) FROM STDIN") as cp:
        for batch in range(start, end, COPY_BATCH):
            g0 = time.perf_counter()
            rows = []
            for i in range(batch, min(batch + COPY_BATCH, end)):
                t = templates[i % len(templates)]
                evs, cid = t["events"], b"%d" % (first_id + i)
                # The case's own task ids, as TASKS_SQL spells them: md5(case id:template task id).
                task = {tid: str(uuid.UUID(bytes=hashlib.md5(b"%s:%s" % (cid, tid.encode())).digest())).encode()
                        for tid in t["task_ids"]}
                number = f"CS-{i + 1:07d}"
                chain = case_chain(number).encode()
                # "YYYY-MM-DDTHH:MM:" of the case's creation; event n is n seconds after it.
                minute = (NOW - timedelta(minutes=i % 500000)).isoformat()[:17].encode()
                prev, eid = b"0" * 64, first_event + i * EVENTS_PER_CASE
                for seq in range(1, EVENTS_PER_CASE + 1):
                    e = evs[(seq - 1) % len(evs)]
                    created_at, seq_b = minute + suffix[seq], b"%d" % seq
                    # The canonical JSON spelled from the template's pre-encoded fields: json.dumps
                    # per event would be most of the generation's time.
                    tid = (task[e["task_id"]],) if e["task_id"] else ()
                    body = e["json"] % ((cid, chain, created_at, seq_b) + tid)
                    row_hash = hexlify(sha256(prev + body).digest())
                    if i == start and seq == 1:  # the shortcut must hash exactly as the audit module does
                        payload = dict(e["payload"], chain=chain.decode(), seq=seq, case_id=first_id + i,
                                       created_at=created_at.decode(), task_id=tid[0].decode() if tid else None)
                        assert body == canonical_json(payload).encode(), (body, canonical_json(payload))
                        assert row_hash.decode() == compute_hash(prev.decode(), AuditEvent(prev_hash=prev.decode(),
                                                                                           **payload)), "hash mismatch"
                    rows.append(e["row"] % ((b"%d" % (eid + seq - 1), chain, seq_b, cid) + tid
                                            + (created_at, prev, row_hash, hexlify(seal(key, row_hash, "sha256")))))
                    prev = row_hash
            gen_s += time.perf_counter() - g0
            cp.write(b"".join(rows))
    conn.commit()
    return {"cases": end - start, "events": (end - start) * EVENTS_PER_CASE, "gen_s": gen_s, "sql_s": sql_s,
            "total_s": time.perf_counter() - t0}


def _bytes_template(text: str, marks: list[str]) -> bytes:
    """`text` as a bytes %-format with each of `marks` (in the order they appear) made a %s."""
    at = [text.index(m) for m in marks]
    assert at == sorted(at), (marks, at)
    out = text.replace("%", "%%")
    for m in marks:
        out = out.replace(m.replace("%", "%%"), "%s", 1)
    return out.encode("utf-8")


def _template_rows(t: dict) -> dict:
    """One template's events as bytes %-formats of their canonical JSON (what is hashed) and of
    their COPY line, with %s where each copy differs; bytes throughout, because encoding the text
    of 20 M events costs more than hashing it."""
    from engine.audit import canonical_json

    assert EVENTS_PER_CASE < 60, "event times are seconds within the case's minute"
    t["task_ids"] = sorted({e["task_id"] for e in t["events"] if e["task_id"]})
    for e in t["events"]:
        e["payload"] = {k: e[k] for k in ("actor", "action", "task_id", "task_name", "data_before", "data_after",
                                          "detail")}
        if e["state_hash"] is not None:
            e["payload"]["state_hash"] = e["state_hash"]
        task = ["@@task_id@@"] if e["task_id"] else []  # each case's own task id, where the event names one
        marks = {"case_id": "@@case_id@@", "chain": "@@chain@@", "created_at": "@@created_at@@", "seq": "@@seq@@",
                 "task_id": "@@task_id@@" if task else None}
        # Sorted keys: case_id, chain, created_at, seq, task_id come in that order.
        e["json"] = _bytes_template(canonical_json(dict(e["payload"], **marks)),
                                    ['"@@case_id@@"', "@@chain@@", "@@created_at@@", '"@@seq@@"', *task])
        e["row"] = _bytes_template("\t".join(
            ["@@id@@", "@@chain@@", "@@seq@@", "@@case_id@@", _copy_text(e["actor"]), _copy_text(e["action"]),
             "@@task_id@@" if task else "\\N", _copy_text(e["task_name"]), _copy_text(e["data_before"]),
             _copy_text(e["data_after"]), _copy_text(e["detail"]), "@@created_at@@", "@@prev@@", "@@row_hash@@",
             _copy_text(e["state_hash"]), "@@seal@@"]) + "\n",
            ["@@id@@", "@@chain@@", "@@seq@@", "@@case_id@@", *task, "@@created_at@@", "@@prev@@", "@@row_hash@@",
             "@@seal@@"])
    return t


EVENT_COLS = ("id, chain, seq, case_id, actor, action, task_id, task_name, data_before, data_after, detail, "
              "created_at, prev_hash, row_hash, state_hash, seal")
# Case i copies template i % nt into compound i % nc (the order make_city gives), created i minutes
# (mod 500,000) before NOW; the audit events above spell the same number and time.
CASES_SQL = """
INSERT INTO process_case (id, case_number, definition_id, process_key, compound_id, org_path, title, status, state,
                          summary, version, created_by, created_at, updated_at, clock_offset_days)
SELECT %(first_id)s + g.i, 'CS-' || lpad((g.i + 1)::text, 7, '0'), t.definition_id, t.process_key, c.id, c.path,
       t.title, t.status, t.state, t.summary, t.version, t.created_by,
       %(now)s - make_interval(mins => g.i %% 500000), %(now)s - make_interval(mins => g.i %% 500000), 0
FROM generate_series(%(start)s, %(end)s - 1) AS g(i)
JOIN unnest(%(cids)s::int[], %(paths)s::text[]) WITH ORDINALITY AS c(id, path, n) ON c.n = 1 + g.i %% %(nc)s
JOIN unnest(%(tids)s::int[]) WITH ORDINALITY AS tn(id, n) ON tn.n = 1 + g.i %% %(nt)s
JOIN process_case t ON t.id = tn.id
"""
# Each case's open tasks: its template's, with ids of its own (the ones its events name), due (if dated) -200…+600 hours from NOW.
TASKS_SQL = """
INSERT INTO human_task (id, case_id, spec_name, title, lane, role, form, org_path, compound_id, process_key,
                        created_at, due_at)
SELECT md5(c.id || ':' || t.id)::uuid::text, c.id, t.spec_name, t.title, t.lane, t.role, t.form, c.org_path, c.compound_id,
       c.process_key, c.created_at,
       CASE WHEN t.due_at IS NOT NULL THEN %(now)s + make_interval(hours => floor(random() * 801)::int - 200) END
FROM process_case c
JOIN bench_template_task t ON t.n = 1 + (c.id - %(first_id)s) %% %(nt)s
WHERE c.id >= %(first_id)s + %(start)s AND c.id < %(first_id)s + %(end)s
"""
LOADED_TABLES = ("process_case", "human_task", "audit_event")


def make_city(s) -> list[tuple[int, str]]:
    """Generated organisations under their own districts; returns (compound id, path) of every
    compound, the demo ones included."""
    from engine.db.models import OrgUnit

    for d in range(DISTRICTS):
        dist = OrgUnit(kind="district", code=f"G{d:02d}", name=f"第{d + 1}区", path="")
        s.add(dist)
        s.flush()
        dist.path = f"{dist.code}/"
        for st in range(STREETS_PER):
            street = OrgUnit(kind="street", code=f"G{d:02d}-S{st:02d}", name=f"第{d + 1}区第{st + 1}街道",
                             parent_id=dist.id, path="")
            s.add(street)
            s.flush()
            street.path = f"{dist.path}{street.code}/"
            for c in range(COMMUNITIES_PER):
                com = OrgUnit(kind="community", code=f"{street.code}-C{c}", name=f"{street.name}{c + 1}社区",
                              parent_id=street.id, path=f"{street.path}{street.code}-C{c}/")
                s.add(com)
                s.flush()
                s.add_all(OrgUnit(kind="compound", code=f"{com.code}-{x:02d}", name=f"{com.name}{x + 1}号小区",
                                  parent_id=com.id, path=f"{com.path}{com.code}-{x:02d}/") for x in range(COMPOUNDS_PER))
    s.flush()
    from sqlalchemy import select

    generated = [(o.id, o.path) for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "compound",
                                                                          OrgUnit.code.like("G%")).order_by(OrgUnit.id))]
    demo = [(o.id, o.path) for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "compound",
                                                                     OrgUnit.code.like("PK-%")).order_by(OrgUnit.id))]
    # The demo street is one street among the generated ones: consecutive cases go to consecutive
    # streets, so every street (the demo one too) gets the same share of any prefix of the load.
    per_street = COMMUNITIES_PER * COMPOUNDS_PER
    streets = [generated[n:n + per_street] for n in range(0, len(generated), per_street)]
    streets.append([demo[k % len(demo)] for k in range(per_street)])
    return [street[k] for k in range(per_street) for street in streets]


def read_templates(s) -> list[dict]:
    from sqlalchemy import select

    from engine.db.models import AuditEvent, Case, HumanTask

    out = []
    for case in s.scalars(select(Case).order_by(Case.id)):
        tasks = [{"spec_name": t.spec_name, "title": t.title, "lane": t.lane, "role": t.role, "form": t.form,
                  "due_at": t.due_at} for t in s.scalars(select(HumanTask).where(HumanTask.case_id == case.id))]
        events = [{c: getattr(e, c) for c in ("actor", "action", "task_id", "task_name", "data_before", "data_after",
                                              "detail", "state_hash")}
                  for e in s.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq))]
        out.append({"id": case.id, "definition_id": case.definition_id, "process_key": case.process_key, "title": case.title,
                    "status": case.status, "state": case.state, "summary": case.summary, "version": case.version,
                    "created_by": case.created_by, "tasks": tasks, "events": events})
    return [_template_rows(t) for t in out]


def _loaded_tables_keys(conn) -> tuple[list[tuple[str, str, str]], list[str]]:
    """What the load drops and then restores: the loaded tables' foreign keys, their unique and
    primary keys that no foreign key leans on, and their other indexes, as (table, name,
    definition) and CREATE INDEX statements."""
    constraints = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype, c.conindid
        FROM pg_constraint c WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'p', 'u')
          AND NOT (c.contype IN ('p', 'u') AND EXISTS (
              SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid))
        ORDER BY c.contype DESC""", (list(LOADED_TABLES),)).fetchall()  # u, p, then f: keys before what refers to them
    indexes = [r[0] for r in conn.execute("""
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""", (list(LOADED_TABLES),))]
    return [(t, n, d) for t, n, d, _k, _i in constraints], indexes


def _restore_keys(url: str, constraints: list[tuple[str, str, str]], indexes: list[str]) -> None:
    """Indexes and keys back, two statements at a time on two connections (each sorts with 1 GB),
    the biggest first; foreign keys last (each checked by one join)."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    def run(stmt: str) -> None:
        t0 = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("SET maintenance_work_mem = '1GB'")
            c.execute(stmt)
        log(f"{time.perf_counter() - t0:5.1f}s {stmt[:110]}")

    keys = [f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}" for t, n, d in constraints if not d.startswith("FOREIGN")]
    fks = [f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}" for t, n, d in constraints if d.startswith("FOREIGN")]
    by_size = sorted(keys + indexes, key=lambda stmt: "audit_event" not in stmt)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, by_size))
        list(pool.map(run, fks))


def bulk_load(url: str, compounds: list[tuple[int, str]], templates: list[dict], deadline: float) -> dict:
    """Load cases until CASES, LOAD_BUDGET_S, or until the indexes would not be built by
    `deadline` (a time.perf_counter() value): secondary indexes and foreign keys dropped first
    and built after (a sort per index instead of 20 M insertions each), WORKERS processes each
    loading a chunk of cases per transaction."""
    import psycopg

    from engine.audit_key import seal_key

    with psycopg.connect(url) as conn:
        first_id = conn.execute("SELECT coalesce(max(id), 0) + 1000 FROM process_case").fetchone()[0]
        first_event = conn.execute("SELECT coalesce(max(id), 0) + 1000 FROM audit_event").fetchone()[0]
        conn.execute("""CREATE TABLE bench_template_task AS
                        SELECT array_position(%s::int[], case_id) AS n, id, spec_name, title, lane, role, form, due_at
                        FROM human_task WHERE case_id = ANY(%s::int[])""", ([t["id"] for t in templates],) * 2)
        constraints, indexes = _loaded_tables_keys(conn)
        for table, name, _ in reversed(constraints):  # foreign keys first
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for stmt in indexes:
            conn.execute("DROP INDEX " + stmt.split(" INDEX ", 1)[1].split(" ON ", 1)[0])
        conn.commit()
    _T.update(templates=templates, compounds=compounds, seal_key=seal_key(), first_id=first_id, first_event=first_event)
    t0 = time.perf_counter()
    done: list[dict] = []
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(WORKERS, initializer=_worker_start, initargs=(url,)) as pool:
        starts = iter(range(0, CASES, CHUNK))
        pending = [pool.apply_async(load_chunk, (s,)) for s in itertools.islice(starts, WORKERS)]
        while pending:
            done.append(pending.pop(0).get())
            loaded = sum(d["cases"] for d in done)
            log(f"loaded {loaded} cases, {loaded * EVENTS_PER_CASE} events")
            # Stop taking new chunks when the budget is spent; the ones under way finish.
            now = time.perf_counter()
            if now - t0 < LOAD_BUDGET_S and now + AFTER_LOAD * (now - t0) < deadline:
                pending += [pool.apply_async(load_chunk, (s,)) for s in itertools.islice(starts, 1)]
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    log("indexes and keys")
    _restore_keys(url, constraints, indexes)
    keys_s = time.perf_counter() - t1
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_template_task")
        conn.execute("SELECT setval(pg_get_serial_sequence('process_case', 'id'), (SELECT max(id) FROM process_case))")
        conn.execute("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), (SELECT max(id) FROM audit_event))")
        t2 = time.perf_counter()
        log("vacuum analyze")
        conn.execute("VACUUM ANALYZE")
        vacuum_s = time.perf_counter() - t2
    loaded = sum(d["cases"] for d in done)
    events = sum(d["events"] for d in done)
    return {"load_wait_generate_s": round(sum(d["gen_s"] for d in done), 1),
            "load_copy_s": round(sum(d["total_s"] - d["gen_s"] for d in done), 1),
            "load_cases_tasks_sql_s": round(sum(d["sql_s"] for d in done), 1),
            "cases_loaded": loaded, "load_s": round(load_s, 1), "indexes_built_after_load_s": round(keys_s, 1),
            "vacuum_analyze_s": round(vacuum_s, 1), "events": events, "load_events_per_s": round(events / load_s)}


def _p50(client, paths: list[str], expect: str) -> float:
    for p in paths[:3]:
        r = client.get(p)
        assert r.status_code == 200, (p, r.status_code, r.text[:300])
    times = []
    for i in range(REQUESTS):
        t0 = time.perf_counter()
        r = client.get(paths[i % len(paths)], follow_redirects=False)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200 and expect in r.text, (paths[i % len(paths)], r.status_code, r.text[:300])
    return round(statistics.median(times), 1)


def login(client, username: str) -> None:
    from engine import demo

    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:300]


def pages(app, case_numbers: list[str]) -> dict[str, float]:
    from fastapi.testclient import TestClient

    with TestClient(app) as street, TestClient(app) as sparty:
        login(street, "street")
        login(sparty, "sparty")
        out = {"inbox_p50_ms": _p50(street, ["/inbox", "/inbox?sort=newest", "/inbox?state=overdue"], "我的待办"),
               "case_page_p50_ms": _p50(street, [f"/cases/{n}" for n in case_numbers], "完整（")}
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            r = sparty.get("/dashboard/PK-JP")
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text[:300]
        out["dashboard_ms"] = round(statistics.median(times), 1)
    return out


def verify_one(rt, case_numbers: list[str]) -> float:
    from engine import audit

    times = []
    for n in case_numbers:
        t0 = time.perf_counter()
        with rt.uow() as s:
            (report,) = audit.verify(s, audit.case_chain(n))
        times.append((time.perf_counter() - t0) * 1000)
        assert report.ok and report.events >= EVENTS_PER_CASE, report
    return round(statistics.median(times), 1)


def verify_all(rt, limit_s: float) -> dict:
    """Every chain in one streamed pass, stopped after `limit_s`: events/s and memory."""
    from engine import audit

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    chains = events = 0
    broken = []
    with rt.uow() as s:
        for report in audit.verify_all_streamed(s):
            chains += 1
            events += report.events
            if not report.ok:
                broken.append(report.chain)
            if time.perf_counter() - t0 > limit_s:
                break
    wall = time.perf_counter() - t0
    return {"verify_all_events_per_s": round(events / wall), "verify_all_chains_checked": chains,
            "verify_all_broken": len(broken),
            "verify_all_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024, 1)}


def sizes(url: str, cases: int) -> dict:
    import psycopg

    with psycopg.connect(url) as conn:
        per = {t: conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]
               for t in ("process_case", "human_task", "audit_event", "case_search")}
    total = sum(per.values())
    return {"bytes_per_case": round(total / cases), "bytes_per_case_by_table": {t: round(b / cases) for t, b in per.items()},
            "database_gb": round(total / 1e9, 2)}


def main() -> None:
    out: dict = {"cases": CASES, "events_per_case": EVENTS_PER_CASE, "targets": TARGETS}
    pg = os.environ.get("HONGWU_TEST_PG_URL")
    if not pg:
        print("HONGWU_TEST_PG_URL is not set: no PostgreSQL to measure", file=sys.stderr)
        print(json.dumps(out, ensure_ascii=False))
        return
    from engine.config import Settings
    from engine.db.migrate import upgrade
    from engine.db.session import engine_for
    from engine.demo_cases import load_demo
    from engine.runtime.clock import FrozenClock
    from engine.runtime.service import Runtime, deploy
    from engine.web.app import create_app

    started = time.perf_counter()
    # HONGWU_BENCH_SCALE_KEEP keeps the database, to look at query plans afterwards.
    with throwaway_database(pg, "scale", keep=bool(os.environ.get("HONGWU_BENCH_SCALE_KEEP"))) as url:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.setdefault("HONGWU_AUDIT_KEY_FILE", str(Path(tmp) / "audit.key"))
            upgrade(url)
            log("done: upgrade(url)")
            clock = FrozenClock(NOW)
            settings = Settings(database_url=url, secret_key="bench", base_url="http://bench")
            rt = Runtime(settings, clock)
            deploy(rt)
            demo = load_demo(rt)
            log("done: demo = load_demo(rt)")
            with rt.uow() as s:
                from engine import demo as demo_mod
                from engine.orgs import hash_password

                s.execute(text("UPDATE app_user SET password_hash = :h"), {"h": hash_password(demo_mod.DEMO_PASSWORD)})
                compounds = make_city(s)
                templates = read_templates(s)
            app = create_app(settings, clock)
            floor = pages(app, demo["cases"])
            log("floor pages done")
            out.update({f"{k.removesuffix('_ms')}_floor_ms": v for k, v in floor.items()})
            with rt.uow() as s:
                t0 = time.perf_counter()
                for _ in range(50):
                    s.execute(text("SELECT 1"))
                out["select1_ms"] = round((time.perf_counter() - t0) * 1000 / 50, 2)
            out["templates"] = len(templates)
            out.update(bulk_load(url, compounds, templates, started + WALL_S - AFTER_INDEXES_S))
            log("done: out.update(bulk_load(url, compounds, tem")
            loaded = out["cases_loaded"]
            # Rows go in at a steady rate (no index to maintain), so the full size takes proportionally
            # longer; sorting for the indexes grows a little faster (n log n).
            out["extrapolated_full_load_s"] = round(out["load_s"] * CASES / max(loaded, 1))
            out["extrapolated_full_indexes_s"] = round(out["indexes_built_after_load_s"] * CASES / max(loaded, 1))
            # Bulk cases of the demo street, picked at random over the whole id range.
            with rt.uow() as s:
                numbers = random.Random(1).sample(list(s.scalars(text(
                    "SELECT case_number FROM process_case WHERE org_path LIKE 'PK/PK-JP/%' AND case_number LIKE 'CS-%'"))), 20)
            out.update(pages(app, numbers[:20]))
            log("done: out.update(pages(app, numbers[:20]))")
            out["verify_one_case_ms"] = verify_one(rt, numbers[:20])
            log("verify one done")
            out.update(verify_all(rt, VERIFY_ALL_S))
            log("done: out.update(verify_all(rt, VERIFY_ALL_S))")
            out["verify_all_extrapolated_s"] = round(CASES * EVENTS_PER_CASE / out["verify_all_events_per_s"])
            out.update(sizes(url, loaded + len(templates)))
            out["over_target"] = sorted(k for k, v in TARGETS.items() if out.get(k) is not None and out[k] > v)
            engine_for(url).dispose()
    out["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
