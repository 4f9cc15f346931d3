"""Benchmark: official notices and ballots, measured in one run on a scratch database.

Prints ONE JSON object:
  notice_p50_ms / notice_p95_ms   one-page notice rendered to PDF/A-3u and stored (HarfBuzz subsetting)
  fonttools_baseline_p50_ms       the same notice with WeasyPrint's fontTools subsetting forced
  fonttools_ratio                 baseline / p50
  ballots_2000_s                  one ballot page per owner for a 2,000-owner compound (stored)
  ballots_peak_mb                 peak memory of that job: this process plus its render workers
Targets (2 cores): notice p50 ≤ 150 ms; 2,000 ballots ≤ 30 s with peak memory ≤ 1 GB.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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

    with _fonttools_forced():
        baseline = _time_notices(url, settings, BASELINE_RUNS)
    p50 = statistics.median(notice)
    base50 = statistics.median(baseline)
    return {
        "notice_p50_ms": round(p50, 1), "notice_p95_ms": round(_p(notice, 0.95), 1),
        "fonttools_baseline_p50_ms": round(base50, 1), "fonttools_ratio": round(base50 / p50, 1),
        "ballots_2000_s": round(ballots_s, 2), "ballots_peak_mb": round(peak, 1),
        "ballots": owners, "ballot_documents": docs, "workers": n_workers,
        "database": url.split(":", 1)[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--owners", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--pg", action="store_true", help="use a scratch database on HONGWU_TEST_PG_URL")
    args = ap.parse_args()
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
