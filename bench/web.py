"""Web benchmark: server time of the inbox page with 100,000 cases in the database, on SQLite
and PostgreSQL. Cases and their open tasks are bulk-inserted (no workflows are run); the inbox
reads only the derived task rows. Prints one JSON object.

Target: p50 ≤ 50 ms on each database. PostgreSQL comes from HONGWU_TEST_PG_URL (a scratch
database is created and dropped); without it, postgresql_inbox_p50_ms is null.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from engine import demo  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.migrate import upgrade  # noqa: E402
from engine.db.models import Case, HumanTask, OrgUnit, ProcessDefinition  # noqa: E402
from engine.runtime.clock import FrozenClock  # noqa: E402
from engine.runtime.service import Runtime, deploy  # noqa: E402

CASES = int(os.environ.get("HONGWU_BENCH_CASES", "100000"))
REQUESTS = 60
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent
# Open tasks spread over the roles that have inboxes; the street user sees a third of them.
ROLES = ["street_staff", "community_staff", "community_party_org"]


def populate(rt: Runtime) -> None:
    from engine.orgs import hash_password

    with rt.uow() as s:
        demo.seed(s, NOW, password=None)
        s.execute(text("UPDATE app_user SET password_hash = :h"), {"h": hash_password(demo.DEMO_PASSWORD)})
    deploy(rt, [ROOT / "tests" / "fixtures" / "bpmn"], ROOT / "tests" / "fixtures" / "forms")
    with rt.uow() as s:
        pd_id = s.scalar(select(ProcessDefinition.id).limit(1))
        compounds = [(o.id, o.path) for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "compound"))]
    chunk = 5000
    for start in range(0, CASES, chunk):
        cases, tasks = [], []
        for i in range(start, min(start + chunk, CASES)):
            cid, path = compounds[i % len(compounds)]
            created = NOW - timedelta(minutes=i)
            cases.append(dict(id=i + 1, case_number=f"BENCH-{i + 1:06d}", definition_id=pd_id, process_key="sample_review",
                              compound_id=cid, org_path=path, title=f"基准案件 {i + 1}", status="running", state="{}",
                              summary="{}", version=1, created_by="bench", created_at=created, updated_at=created))
            due = None if i % 5 == 0 else NOW + timedelta(hours=(i % 400) - 100)
            tasks.append(dict(id=str(uuid.UUID(int=i + 1)), case_id=i + 1, spec_name="review", title="党组织审查",
                              lane="街道办事处", role=ROLES[i % len(ROLES)], form="sample/review.schema.json",
                              org_path=path, compound_id=cid, process_key="sample_review", created_at=created, due_at=due))
        with rt.uow() as s:
            s.execute(insert(Case), cases)
            s.execute(insert(HumanTask), tasks)
    with rt.uow() as s:
        if s.bind.dialect.name == "postgresql":
            s.execute(text("SELECT setval(pg_get_serial_sequence('process_case', 'id'), :n)"), {"n": CASES})
            s.execute(text("ANALYZE"))
        else:
            s.execute(text("ANALYZE"))


def measure(url: str) -> float:
    from engine.web.app import create_app

    clock = FrozenClock(NOW)
    settings = Settings(database_url=url, secret_key="bench", base_url="http://bench")
    rt = Runtime(settings, clock)
    populate(rt)
    app = create_app(settings, clock)
    client = TestClient(app)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "street", "password": demo.DEMO_PASSWORD, "csrf_token": token},
                       follow_redirects=False).status_code == 303
    for _ in range(5):  # warm caches and connection pool
        assert client.get("/inbox").status_code == 200
    times = []
    for i in range(REQUESTS):
        query = "/inbox" if i % 3 else "/inbox?state=overdue"
        t0 = time.perf_counter()
        r = client.get(query)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200 and "BENCH-" in r.text
    from engine.db.session import engine_for

    engine_for(url).dispose()
    return round(statistics.median(times), 2)


def main() -> None:
    out = {"cases": CASES, "sqlite_inbox_p50_ms": None, "postgresql_inbox_p50_ms": None}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        out["sqlite_inbox_p50_ms"] = measure(url)
    pg = os.environ.get("HONGWU_TEST_PG_URL")
    if pg:
        admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        name = f"hongwu_bench_web_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = pg.rsplit("/", 1)[0] + "/" + name
            upgrade(url)
            out["postgresql_inbox_p50_ms"] = measure(url)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
