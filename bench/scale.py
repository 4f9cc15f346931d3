"""City-scale benchmark on PostgreSQL: a million cases and their audit chains. Prints one JSON object.

Set-up: a scratch database gets the demo organisations plus a generated city (districts → streets
→ communities → compounds), and the demo cases are run through the service layer so there are
real workflow states, task rows and audit chains of all three processes. Those are the templates:
every bulk case copies one template's state, summary and open task rows (with new task ids) into
a compound of the city, and its audit chain replays the template's events — each re-hashed and
re-sealed for its own chain, so every chain verifies. Rows go in with COPY (psycopg), built by two
worker processes while PostgreSQL writes.

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

Size: HONGWU_BENCH_SCALE_CASES (default 1,000,000) and HONGWU_BENCH_SCALE_EVENTS (audit events per
case, default 20 → 20,000,000). On a 2-core machine generating and hashing 20 M events does not
fit in five minutes; `load_events_per_s` says how fast it went, and `extrapolated_load_s` how long
the full size would take at that rate. Needs HONGWU_TEST_PG_URL.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
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
CHUNK = 5000  # cases per COPY batch
# Loading stops after this long (the whole bench must stay under five minutes); what was loaded is
# measured and the figures say how far it got.
LOAD_BUDGET_S = float(os.environ.get("HONGWU_BENCH_SCALE_LOAD_S", "120"))
REQUESTS = 30
VERIFY_ALL_S = float(os.environ.get("HONGWU_BENCH_SCALE_VERIFY_S", "20"))
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


def _row(values) -> str:
    return "\t".join(_copy_text(v) for v in values) + "\n"


def build_chunk(start: int) -> tuple[int, int, bytes, bytes, bytes, int]:
    """COPY text for the cases start..start+CHUNK (ids offset by _T["first_id"]): case rows, task
    rows and audit events, each event hashed and sealed exactly as engine.audit.append does
    (checked against engine.audit.compute_hash for the first case of every chunk)."""
    from engine.audit import canonical_json, case_chain, compute_hash
    from engine.db.models import AuditEvent

    templates, compounds, key = _T["templates"], _T["compounds"], _T["seal_key"]
    first_id, first_event = _T["first_id"], _T["first_event"]
    rng = random.Random(start)
    cases, tasks, events = [], [], []
    end = min(start + CHUNK, CASES)
    for i in range(start, end):
        t = templates[i % len(templates)]
        cid = first_id + i
        compound_id, path = compounds[i % len(compounds)]
        number = f"CS-{i + 1:07d}"
        created = NOW - timedelta(minutes=i % 500000)
        stamp = created.isoformat()
        cases.append(t["case_row"].format(cid=cid, number=number, compound_id=compound_id, path=path, created=stamp))
        for task in t["tasks"]:
            due = None if task["due_at"] is None else (NOW + timedelta(hours=rng.randint(-200, 600))).isoformat()
            tasks.append(_row((uuid.UUID(int=rng.getrandbits(128), version=4), cid, task["spec_name"], task["title"],
                               task["lane"], task["role"], task["form"], path, compound_id, t["process_key"],
                               stamp, due)))
        chain, prev = case_chain(number), "0" * 64
        evs = t["events"]
        minute = stamp[:17]  # "YYYY-MM-DDTHH:MM:": event n is n seconds after the case's creation
        for seq in range(1, EVENTS_PER_CASE + 1):
            e = evs[(seq - 1) % len(evs)]
            created_at = f"{minute}{seq:02d}.000000+00:00"
            # The canonical JSON spelled from the template's pre-encoded fields: json.dumps per event
            # would be most of the generation's time.
            body = e["json"].format(case_id=cid, chain=chain, created_at=created_at, seq=seq)
            row_hash = hashlib.sha256((prev + body).encode("utf-8")).hexdigest()
            if i == start and seq == 1:  # the shortcut must hash exactly as the audit module does
                payload = dict(e["payload"], chain=chain, seq=seq, case_id=cid, created_at=created_at)
                assert body == canonical_json(payload), (body, canonical_json(payload))
                assert row_hash == compute_hash(prev, AuditEvent(prev_hash=prev, **payload)), "hash mismatch"
            seal = hmac.digest(key, row_hash.encode("ascii"), "sha256").hex()
            events.append(e["row"].format(id=first_event + i * EVENTS_PER_CASE + seq - 1, chain=chain, seq=seq,
                                          case_id=cid, created_at=created_at, prev=prev,
                                          row_hash=row_hash, seal=seal))
            prev = row_hash
    return (start, end - start, "".join(cases).encode(), "".join(tasks).encode(), "".join(events).encode(),
            (end - start) * EVENTS_PER_CASE)


def _template_rows(t: dict) -> dict:
    """COPY line formats of one template, with {placeholders} for what each copy changes."""
    from engine.audit import canonical_json

    assert EVENTS_PER_CASE < 60, "event times are seconds within the case's minute"

    def esc(v):
        return _copy_text(v).replace("{", "{{").replace("}", "}}")

    t["case_row"] = "\t".join(["{cid}", "{number}", esc(t["definition_id"]), esc(t["process_key"]), "{compound_id}",
                               "{path}", esc(t["title"]), esc(t["status"]), esc(t["state"]), esc(t["summary"]),
                               esc(t["version"]), esc(t["created_by"]), "{created}", "{created}", "\\N", "\\N",
                               "\\N", "0"]) + "\n"
    for e in t["events"]:
        e["payload"] = {k: e[k] for k in ("actor", "action", "task_id", "task_name", "data_before", "data_after",
                                          "detail")}
        if e["state_hash"] is not None:
            e["payload"]["state_hash"] = e["state_hash"]
        marks = {"case_id": 1111111111, "chain": "@@chain@@", "created_at": "@@created_at@@", "seq": 2222222222}
        e["json"] = (canonical_json(dict(e["payload"], **marks)).replace("{", "{{").replace("}", "}}")
                     .replace("1111111111", "{case_id}").replace('"@@chain@@"', '"{chain}"')
                     .replace('"@@created_at@@"', '"{created_at}"').replace("2222222222", "{seq}"))
        e["row"] = "\t".join(["{id}", "{chain}", "{seq}", "{case_id}", esc(e["actor"]), esc(e["action"]),
                              esc(e["task_id"]), esc(e["task_name"]), esc(e["data_before"]), esc(e["data_after"]),
                              esc(e["detail"]), "{created_at}", "{prev}", "{row_hash}", esc(e["state_hash"]),
                              "{seal}"]) + "\n"
    return t


CASE_COLS = ("id, case_number, definition_id, process_key, compound_id, org_path, title, status, state, summary, "
             "version, created_by, created_at, updated_at, completed_at, external_source, external_ref, clock_offset_days")
TASK_COLS = "id, case_id, spec_name, title, lane, role, form, org_path, compound_id, process_key, created_at, due_at"
EVENT_COLS = ("id, chain, seq, case_id, actor, action, task_id, task_name, data_before, data_after, detail, "
              "created_at, prev_hash, row_hash, state_hash, seal")


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
        out.append({"definition_id": case.definition_id, "process_key": case.process_key, "title": case.title,
                    "status": case.status, "state": case.state, "summary": case.summary, "version": case.version,
                    "created_by": case.created_by, "tasks": tasks, "events": events})
    return [_template_rows(t) for t in out]


def bulk_load(url: str, compounds: list[tuple[int, str]], templates: list[dict]) -> dict:
    import psycopg

    from engine.audit_key import seal_key

    with psycopg.connect(url) as conn:
        first_id = conn.execute("SELECT coalesce(max(id), 0) + 1000 FROM process_case").fetchone()[0]
        first_event = conn.execute("SELECT coalesce(max(id), 0) + 1000 FROM audit_event").fetchone()[0]
    _T.update(templates=templates, compounds=compounds, seal_key=seal_key(), first_id=first_id, first_event=first_event)
    t0 = time.perf_counter()
    events = loaded = 0
    waited = copying = 0.0  # waiting for the generators vs. PostgreSQL taking the rows
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool, psycopg.connect(url) as conn:
        chunks = pool.imap(build_chunk, range(0, CASES, CHUNK))
        while True:
            w0 = time.perf_counter()
            try:
                _start, n_cases, cases_b, tasks_b, events_b, n = next(chunks)
            except StopIteration:
                break
            c0 = time.perf_counter()
            waited += c0 - w0
            with conn.cursor() as cur:
                with cur.copy(f"COPY process_case ({CASE_COLS}) FROM STDIN") as cp:
                    cp.write(cases_b)
                with cur.copy(f"COPY human_task ({TASK_COLS}) FROM STDIN") as cp:
                    cp.write(tasks_b)
                with cur.copy(f"COPY audit_event ({EVENT_COLS}) FROM STDIN") as cp:
                    cp.write(events_b)
            conn.commit()
            copying += time.perf_counter() - c0
            events += n
            loaded += n_cases
            log(f"loaded {loaded} cases, {events} events (generate wait {waited:.1f}s, copy {copying:.1f}s)")
            if time.perf_counter() - t0 > LOAD_BUDGET_S:
                pool.terminate()  # the rest would not fit in the bench's time: measure what is there
                break
        load_s = time.perf_counter() - t0
        conn.execute("SELECT setval(pg_get_serial_sequence('process_case', 'id'), (SELECT max(id) FROM process_case))")
        conn.execute("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), (SELECT max(id) FROM audit_event))")
        conn.commit()
        conn.autocommit = True
        t1 = time.perf_counter()
        log("vacuum analyze")
        conn.execute("VACUUM ANALYZE")
        vacuum_s = time.perf_counter() - t1
    return {"load_wait_generate_s": round(waited, 1), "load_copy_s": round(copying, 1), "cases_loaded": loaded, "load_s": round(load_s, 1), "vacuum_analyze_s": round(vacuum_s, 1), "events": events,
            "load_events_per_s": round(events / load_s)}


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
            out.update(bulk_load(url, compounds, templates))
            log("done: out.update(bulk_load(url, compounds, tem")
            loaded = out["cases_loaded"]
            # Rows go in at a steady rate (append-only indexes), so the full size takes proportionally longer.
            out["extrapolated_full_load_s"] = round(out["load_s"] * CASES / max(loaded, 1))
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
