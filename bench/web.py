"""Web benchmark: server time of the inbox page and of case search with 100,000 cases in the
database, on SQLite and PostgreSQL. Cases, their open tasks and their search texts are
bulk-inserted (no workflows are run). Prints one JSON object.

Search asks, in turn, for a partial case number in lower case, a party's name, a compound's name,
a title phrase, two terms, and a two-character word (the bounded short-term scan), each through
the /cases page. Its floor, measured in the same run, is the /cases page without a query (the
newest cases, no search), so `*_search_over_floor_ms` is what searching adds.

Target: p50 ≤ 50 ms on each database. PostgreSQL comes from HONGWU_TEST_PG_URL (a scratch
database is created and dropped); without it, the postgresql figures are null.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from bench._pg import throwaway_database  # noqa: E402
from engine import demo  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.migrate import upgrade  # noqa: E402
from engine.db.models import Case, CaseSearch, HumanTask, OrgUnit, ProcessDefinition  # noqa: E402
from engine.runtime.clock import FrozenClock  # noqa: E402
from engine.runtime.search import index_text  # noqa: E402
from engine.runtime.service import Runtime, deploy  # noqa: E402

CASES = int(os.environ.get("HONGWU_BENCH_CASES", "100000"))
REQUESTS = 60
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
# Open tasks spread over the roles that have inboxes; the street user sees a third of them.
ROLES = ["street_staff", "community_staff", "community_party_org"]
# Words the search texts are made of: titles from matters and places, parties' names from common
# surnames and given names (so a name matches a handful of cases, a matter thousands).
MATTERS = ["更换电梯", "外墙维修", "屋面防水", "停车位划分", "公共收益使用", "绿化改造", "监控安装", "噪音纠纷",
           "漏水纠纷", "宠物扰民", "物业费争议", "楼道堆物", "充电桩安装", "选聘物业公司", "维修资金使用"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "志强", "玉兰", "海燕", "晓东", "春梅"]


def _party(i: int) -> str:
    return SURNAMES[(i * 7) % len(SURNAMES)] + GIVEN[(i * 13) % len(GIVEN)] + GIVEN[(i * 3) % len(GIVEN)][0]


def populate(rt: Runtime) -> None:
    from engine.orgs import hash_password

    with rt.uow() as s:
        demo.seed(s, NOW, password=None)
        s.execute(text("UPDATE app_user SET password_hash = :h"), {"h": hash_password(demo.DEMO_PASSWORD)})
    deploy(rt, [ROOT / "tests" / "fixtures" / "bpmn"], ROOT / "tests" / "fixtures" / "forms")
    with rt.uow() as s:
        pd_id = s.scalar(select(ProcessDefinition.id).limit(1))
        compounds = [(o.id, o.path, o.code, o.name) for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "compound"))]
    chunk = 5000
    for start in range(0, CASES, chunk):
        cases, tasks, texts = [], [], []
        for i in range(start, min(start + chunk, CASES)):
            cid, path, code, cname = compounds[i % len(compounds)]
            created = NOW - timedelta(minutes=i)
            number = f"BENCH-{i + 1:06d}"
            title = f"{MATTERS[i % len(MATTERS)]}（{i % 30 + 1}号楼）"
            cases.append(dict(id=i + 1, case_number=number, definition_id=pd_id, process_key="sample_review",
                              compound_id=cid, org_path=path, title=title, status="running", state="{}",
                              summary="{}", version=1, created_by="bench", created_at=created, updated_at=created))
            texts.append(dict(case_id=i + 1, body=index_text(number, code, cname, title, {
                "parties": [{"name": _party(i)}, {"name": _party(i + 1)}]}, {})))
            due = None if i % 5 == 0 else NOW + timedelta(hours=(i % 400) - 100)
            tasks.append(dict(id=str(uuid.UUID(int=i + 1)), case_id=i + 1, spec_name="review", title="党组织审查",
                              lane="街道办事处", role=ROLES[i % len(ROLES)], form="sample/review.schema.json",
                              org_path=path, compound_id=cid, process_key="sample_review", created_at=created, due_at=due))
        with rt.uow() as s:
            s.execute(insert(Case), cases)
            s.execute(insert(HumanTask), tasks)
            s.execute(insert(CaseSearch), texts)
    with rt.uow() as s:
        if s.bind.dialect.name == "postgresql":
            s.execute(text("SELECT setval(pg_get_serial_sequence('process_case', 'id'), :n)"), {"n": CASES})
            s.execute(text("ANALYZE"))
        else:
            s.execute(text("ANALYZE"))


def _p50(client: TestClient, paths: list[str], expect: str) -> float:
    for p in paths[:5]:  # warm caches and connection pool
        assert client.get(p).status_code == 200
    times = []
    for i in range(REQUESTS):
        t0 = time.perf_counter()
        r = client.get(paths[i % len(paths)], follow_redirects=False)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200 and expect in r.text, (paths[i % len(paths)], r.status_code)
    return round(statistics.median(times), 2)


def search_paths() -> list[str]:
    from urllib.parse import quote

    n = CASES // 2
    queries = [f"bench-0{n:05d}"[:10].lower(), _party(n), "明发滨江新城", "维修资金使用", "漏水纠纷 9号楼", "电梯"]
    return [f"/cases?q={quote(q)}" for q in queries]


def measure(url: str) -> dict[str, float]:
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
    out = {"inbox": _p50(client, ["/inbox", "/inbox", "/inbox?state=overdue"], "BENCH-"),
           "cases_floor": _p50(client, ["/cases"], "BENCH-"),
           "search": _p50(client, search_paths(), "BENCH-")}
    from engine.db.session import engine_for

    engine_for(url).dispose()
    return out


def _record(out: dict, db: str, m: dict[str, float]) -> None:
    out[f"{db}_inbox_p50_ms"] = m["inbox"]
    out[f"{db}_search_p50_ms"] = m["search"]
    out[f"{db}_cases_floor_p50_ms"] = m["cases_floor"]
    out[f"{db}_search_over_floor_ms"] = round(m["search"] - m["cases_floor"], 2)


def main() -> None:
    out: dict = {"cases": CASES, "target_p50_ms": 50}
    for db in ("sqlite", "postgresql"):
        out.update({f"{db}_inbox_p50_ms": None, f"{db}_search_p50_ms": None, f"{db}_cases_floor_p50_ms": None,
                    f"{db}_search_over_floor_ms": None})
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        _record(out, "sqlite", measure(url))
    pg = os.environ.get("HONGWU_TEST_PG_URL")
    if pg:
        with throwaway_database(pg, "web") as url:
            upgrade(url)
            _record(out, "postgresql", measure(url))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
