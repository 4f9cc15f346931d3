"""Benchmark: official notices and ballots, measured in one run on a scratch database.

Prints ONE JSON object:
  notice_p50_ms / notice_p95_ms   one-page notice rendered to PDF/A-3u and stored (HarfBuzz subsetting)
  fonttools_baseline_p50_ms       the same notice with WeasyPrint's fontTools subsetting forced
  fonttools_ratio                 baseline / p50
  ballots_2000_s                  one ballot page per owner for a 2,000-owner compound (stored)
  ballots_peak_mb                 peak memory of that job: this process plus its render workers
  ballots_10000_s                 a committee election with a 10,000-owner roll: the worker's job
                                  印制发放选票 (claim, render, store, save the case), in a child process
  ballots_10000_peak_mb           that worker's peak memory (its process plus its render workers)
  ballots_10000_per_ballot_ratio  (10,000 s / 10,000) / (2,000 s / 2,000): ≤ 2 means linear enough
  ballots_trigger_request_s       the HTTP request (POST /api/tasks/…/complete, after the publicity
                                  period) whose unit of work fires the publicity timer and reaches
                                  印制发放选票: it commits in front of the step and returns
Targets (2 cores): notice p50 ≤ 150 ms; 2,000 ballots ≤ 30 s with peak memory ≤ 1 GB; 10,000 by
the worker ≤ 2× the per-ballot cost of 2,000, ≤ 1 GB; the triggering request ≤ 1 s.

Uses an SQLite file database in a temporary directory; with --pg (and HONGWU_TEST_PG_URL) it
creates and drops a scratch PostgreSQL database instead.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

# Not this folder: its http.py would shadow the standard library's (the web client needs that one).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from engine import demo  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.migrate import upgrade  # noqa: E402
from engine.db.session import unit_of_work  # noqa: E402
from engine.notices.ballots import issue_ballots  # noqa: E402
from engine.notices.service import issue_document  # noqa: E402

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
ONE_PAGE_KIND = "party_branch_opinion"
ONE_PAGE = {
    "issuer": "江浦街道办事处", "compound_name": "明发滨江新城小区", "branch_name": "中共明发滨江新城小区支部委员会",
    "matter": "使用专项维修资金更换3幢电梯", "meeting_date": "2026-11-20",
    "opinion": ["该事项属于《先议事项清单》第5项，程序符合规定", "维修方案经两家单位询价，价格合理"],
    "conclusion": "同意提交业主大会表决", "attendees": ["陈志强", "刘芳", "黄伟"],
}
BALLOT = {
    "issuer": "江浦街道办事处", "compound_name": "明发滨江新城小区", "vote_title": "第一届业主委员会选举",
    "mode": "election", "items": ["司马光明", "上官婉清", "吴德勇", "欧阳明", "赵丽华", "钱卫东", "孙晓燕"],
    "instructions": ["每位候选人只能在“同意”“反对”“弃权”中选择一项，在对应方框内划“√”",
                     "多选、未选或无法辨认的视为弃权", "委托他人投票的，须附授权委托书"],
    "deadline": "2026-12-26T09:30:00+00:00", "ballot_box": "小区物业服务中心投票箱",
}
RUNS, WARMUP, BASELINE_RUNS = 20, 3, 3


def _mb(kb: int) -> float:
    return kb / 1024.0  # ru_maxrss is in KiB on Linux


def _time_notices(url: str, settings: Settings, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with unit_of_work(url) as s:
            doc = issue_document(s, kind=ONE_PAGE_KIND, context=ONE_PAGE, actor="bench",
                                 now=NOW, settings=settings)
            assert doc.pages == 1, f"bench notice should be one page, got {doc.pages}"
        times.append((time.perf_counter() - start) * 1000)
    return times


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def _fonttools_forced():
    """Context manager: make WeasyPrint believe HarfBuzz-subset is missing (its fallback path)."""
    import contextlib

    import weasyprint.pdf.fonts as wfonts

    @contextlib.contextmanager
    def forced():
        saved = wfonts.harfbuzz_subset
        wfonts.harfbuzz_subset = None
        logger = logging.getLogger("weasyprint")
        level = logger.level
        logger.setLevel(logging.ERROR)  # the fallback warns once per font: expected here
        try:
            yield
        finally:
            wfonts.harfbuzz_subset = saved
            logger.setLevel(level)

    return forced()


def run(url: str, owners: int, workers: int | None) -> dict:
    settings = Settings(database_url=url, base_url="http://127.0.0.1:8000", secret_key="bench")
    upgrade(url)
    with unit_of_work(url) as s:
        demo.seed(s, NOW, password=None)

    _time_notices(url, settings, WARMUP)
    notice = _time_notices(url, settings, RUNS)

    roll = [{"owner_name": f"业主{i:04d}", "owner_id": f"O{i:05d}",
             "units": [f"{i // 120 + 1}幢{(i % 120) // 4 + 1}0{i % 4 + 1}室"], "area": 60 + (i * 37 % 9000) / 100}
            for i in range(owners)]
    start = time.perf_counter()
    with unit_of_work(url) as s:
        result = issue_ballots(s, context=BALLOT, owners=roll, actor="bench", now=NOW, settings=settings,
                               workers=workers)
        assert sum(d.pages for d in result.documents) == owners
        docs = len(result.documents)
    ballots_s = time.perf_counter() - start
    # Measured before the fontTools baseline, which loads whole CJK fonts into this process.
    own = _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    child = _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    # Upper bound: this process's peak plus every worker at the largest worker's peak.
    peak = own + (child * n_workers if n_workers > 1 else 0)

    scale = election_at_scale(url, SCALE_OWNERS) if SCALE_OWNERS else {}

    with _fonttools_forced():
        baseline = _time_notices(url, settings, BASELINE_RUNS)
    p50 = statistics.median(notice)
    base50 = statistics.median(baseline)
    return {
        "notice_p50_ms": round(p50, 1), "notice_p95_ms": round(_p(notice, 0.95), 1),
        "fonttools_baseline_p50_ms": round(base50, 1), "fonttools_ratio": round(base50 / p50, 1),
        "ballots_2000_s": round(ballots_s, 2), "ballots_peak_mb": round(peak, 1),
        "ballots": owners, "ballot_documents": docs, "workers": n_workers,
        **scale, **({"ballots_10000_per_ballot_ratio": round(scale["ballots_10000_s"] / SCALE_OWNERS
                                                              / (ballots_s / owners), 2)} if scale else {}),
        "database": url.split(":", 1)[0],
    }


SCALE_OWNERS = 10_000
CANDIDATES = [("C1", "张伟", True), ("C2", "王芳", True), ("C3", "李娜", True), ("C4", "刘洋", True),
              ("C5", "陈静", False), ("C6", "杨帆", False), ("C7", "赵磊", True)]


def election_at_scale(url: str, owners: int) -> dict:
    """A committee election on a compound of `owners` owners, driven through the service layer up
    to the candidates' publicity; then the request that ends it (timed over HTTP) and the worker's
    ballot job (timed in a child process, so its peak memory is its own)."""
    import subprocess

    from fastapi.testclient import TestClient

    from engine.attachments import reference, store_attachment
    from engine.runtime.actors import load_actor
    from engine.runtime.clock import FrozenClock
    from engine.runtime.service import Runtime, deploy
    from engine.web.app import create_app

    root = Path(__file__).resolve().parents[1]
    clock = FrozenClock(NOW)
    settings = Settings(database_url=url, base_url="http://127.0.0.1:8000", secret_key="bench")
    rt = Runtime(settings, clock)
    with unit_of_work(url) as s:
        from engine.db.models import User
        from engine.orgs import hash_password

        demo.seed(s, NOW)
        s.scalar(select(User).where(User.username == "street")).password_hash = hash_password(demo.DEMO_PASSWORD)
        street = load_actor(s, "street")
        cparty, sparty = load_actor(s, "cparty"), load_actor(s, "sparty")
    deploy(rt, [root / "bpmn" / "committee_election.bpmn"], root / "forms")
    names = {f"O{i + 1}": n for i, (_c, n, _p) in enumerate(CANDIDATES)}
    roll = "unit_id,owner_id,owner_name,area_m2,building\n" + "".join(
        f"{i // 120 + 1}-{i % 120 + 1},O{i + 1},{names.get(f'O{i + 1}', f'业主{i + 1:05d}')},{60 + (i * 37 % 9000) / 100:.2f},"
        f"{i // 120 + 1}\n" for i in range(owners))
    cn = rt.start_case("committee_election", "PK-JP-XC-01", street, {}).case_number

    def do(actor, name, data):
        task = next(t for t in rt.list_tasks(actor, process_key="committee_election", limit=500)
                    if t.case_number == cn and t.name == name)
        return rt.complete_task(task.id, actor, data)

    do(street, "open_case", {"case": {"election_kind": "first", "seats": 5, "term_years": 5}})
    do(street, "form_group", {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "张伟", "kind": "owner", "position": "副组长"},
        {"name": "李娜", "kind": "owner", "position": "成员"}, {"name": "某开发公司代表", "kind": "developer", "position": "成员"},
        {"name": "黄敏", "kind": "owner", "position": "成员"}]}})
    with unit_of_work(url) as s:
        ref = reference(store_attachment(s, filename="roll.csv", content=roll.encode(), actor="street", now=NOW))
    do(street, "confirm_roll", {"roll": {"file": ref, "inspection_place": "小区物业服务中心"}})
    do(street, "meeting_plan", {"meeting": {"meeting_name": "首次业主大会会议", "meeting_date": "2026-12-20",
                                            "meeting_time": "上午9:00至11:30", "place": "小区会所", "form": "书面征求意见"}})
    do(street, "nominate", {"candidates": [
        {"candidate_id": c, "owner_id": f"O{i + 1}", "name": n, "party_member": p, "gender": "男", "units": f"O{i + 1}",
         "intro": "业主", "facts": {}} for i, (c, n, p) in enumerate(CANDIDATES)]})
    ids = [c for c, _n, _p in CANDIDATES]
    do(cparty, "community_review", {"community_decisions": [{"candidate_id": i, "approve": True, "reason": ""} for i in ids]})
    do(sparty, "street_review", {"street_decisions": [{"candidate_id": i, "approve": True} for i in ids]})
    objections = next(t for t in rt.list_tasks(street, process_key="committee_election", limit=500)
                      if t.case_number == cn and t.name == "objections")
    clock.advance(days=10)  # the publicity period is over; no worker has fired it yet

    client = TestClient(create_app(settings, clock))
    csrf = client.post("/api/session", json={"username": "street", "password": demo.DEMO_PASSWORD}).json()["csrf_token"]
    start = time.perf_counter()
    answer = client.post(f"/api/tasks/{objections.id}/complete", headers={"X-CSRF-Token": csrf}, json={"data": {
        "objection": {"objections": [{"candidate_id": "C1", "content": "异议", "upheld": False, "answer": "不成立"}]}}})
    trigger_s = time.perf_counter() - start
    assert answer.status_code == 409, answer.text  # the late objection lapsed; the period's end was saved
    with unit_of_work(url) as s:
        from engine.db.job_models import Job

        assert s.scalar(select(func.count()).select_from(Job)) == 1, "the ballots should wait for the worker"

    # The worker, in a child process on the same clock: its peak memory is measured apart.
    code = ("import json,resource,sys,time;from datetime import datetime;"
            "from engine.config import Settings;from engine.runtime.clock import FrozenClock;"
            "from engine.runtime.service import Runtime;from engine.runtime.jobs import run_due_jobs;"
            "rt=Runtime(Settings(database_url=sys.argv[1],base_url='http://127.0.0.1:8000',secret_key='bench'),"
            "FrozenClock(datetime.fromisoformat(sys.argv[2])));t=time.perf_counter();n=run_due_jobs(rt,'bench');"
            "s=time.perf_counter()-t;r=resource.getrusage;"
            "print(json.dumps({'n':n,'s':s,'own':r(resource.RUSAGE_SELF).ru_maxrss,'child':r(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    out = subprocess.run([sys.executable, "-c", code, url, clock.now().isoformat()], cwd=root, check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)})
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["n"] == 1, out.stderr[-2000:]
    with unit_of_work(url) as s:
        from engine.db.models import Case, Document

        case_id = s.scalar(select(Case.id).where(Case.case_number == cn))
        pages = s.scalar(select(func.sum(Document.pages)).where(Document.kind == "ballot", Document.case_id == case_id))
        assert pages == owners, pages
    n_workers = min(2, os.cpu_count() or 1)
    peak = _mb(res["own"]) + (_mb(res["child"]) * n_workers if n_workers > 1 else 0)
    return {"ballots_10000_s": round(res["s"], 2), "ballots_10000_peak_mb": round(peak, 1),
            "ballots_trigger_request_s": round(trigger_s, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--owners", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--pg", action="store_true", help="use a scratch database on HONGWU_TEST_PG_URL")
    ap.add_argument("--scale-owners", type=int, default=10_000,
                    help="owners of the election run by the worker (0: skip it)")
    args = ap.parse_args()
    global SCALE_OWNERS
    SCALE_OWNERS = args.scale_owners
    logging.basicConfig(level=logging.ERROR)
    if args.pg:
        from sqlalchemy import create_engine, text

        pg = os.environ["HONGWU_TEST_PG_URL"]
        name = f"hongwu_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            out = run(pg.rsplit("/", 1)[0] + "/" + name, args.owners, args.workers)
        finally:
            from engine.db.session import engine_for

            engine_for(pg.rsplit("/", 1)[0] + "/" + name).dispose()
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = run(f"sqlite:///{tmp}/bench.db", args.owners, args.workers)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
