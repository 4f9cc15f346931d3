"""The vote benchmark: per-ballot scrutineer entry over HTTP against `hongwu serve --workers 2` on
PostgreSQL, and the count of 10,000 ballots from the register. Prints one JSON object.

A scratch database gets the demo organisations and users, one committee election case and a
register of 10,000 issued ballots (rows written directly: rendering 10,000 ballot pages is the
notices benchmark's business, not this one's), with the voting deadline passed. Two scrutineers
log in through the login form and enter ENTRY_BALLOTS ballots each, concurrently, through the
entry page's POST (the second scrutineer enters the ballots the first entered, so half the entries
settle a ballot): `entry_p95_ms`. Then every ballot gets two agreeing entries (bulk rows) and
`register_count` + the Art. 278 tally count them: `count_10000_s`.

Online voting: a second case has ONLINE_OWNERS ballots with the deadline a day ahead; owners
vote through POST /api/online-vote (code, PIN, marks), ONLINE_CONCURRENCY at a time:
`online_vote_p95_ms` (`owners` says how many voted). Then DOUBLE_BALLOTS fresh ballots are each
submitted twice at the same moment, and one more ballot 100 times at once:
`double_submission_counted_once` is 1 when every one of them has exactly one counted vote and
exactly one answer said "counted", else 0.

Targets (issue 18): online vote p95 ≤ 200 ms; entry p95 ≤ 100 ms; count of 10,000 ≤ 1 s.
Needs HONGWU_TEST_PG_URL.
"""
from __future__ import annotations

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import httpx  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

BALLOTS = int(os.environ.get("HONGWU_BENCH_BALLOTS", "10000"))
ENTRY_BALLOTS = int(os.environ.get("HONGWU_BENCH_ENTRY_BALLOTS", "100"))
ITEMS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
# The 10,000 owners: about 40 s on a quiet 2-core machine, eight owners at a time (the
# output's `owners` says how many voted; set fewer on a machine busy with other work).
ONLINE_OWNERS = int(os.environ.get("HONGWU_BENCH_ONLINE_OWNERS", "10000"))
ONLINE_CONCURRENCY = int(os.environ.get("HONGWU_BENCH_ONLINE_CONCURRENCY", "8"))
DOUBLE_BALLOTS = 100
TARGET_ENTRY_P95_MS = 100
TARGET_ONLINE_P95_MS = 200
TARGET_COUNT_S = 1.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _say(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def populate(url: str) -> tuple[str, list[str], object]:
    """Demo org and users, one election case with a closed round of BALLOTS registered ballots,
    two scrutineers. Returns (case number, codes, owner roll)."""
    from engine.config import BUNDLED_BPMN_DIR, BUNDLED_FORMS_DIR, Settings
    from engine.db.migrate import upgrade
    from engine.db.vote_models import VoteBallot, VoteRound
    from engine.domain.owner_roll import parse_roll
    from engine.runtime.actors import load_actor
    from engine.runtime.service import Runtime, deploy
    from engine.voting.service import VoteService
    from tests.web.support import seed_demo

    upgrade(url)
    _say("migrated")
    rt = Runtime(Settings(database_url=url, secret_key="bench", base_url="http://127.0.0.1"))
    seed_demo(rt)
    deploy(rt, [BUNDLED_BPMN_DIR / "committee_election.bpmn"], BUNDLED_FORMS_DIR)
    with rt.uow() as s:
        street = load_actor(s, "street")
    _say("deployed")
    case = rt.start_case("committee_election", "PK-JP-XC-01", street, {})
    now = datetime.now(UTC)
    roll_csv = "unit_id,owner_id,owner_name,area_m2\n" + "".join(
        f"U{i:05d},O{i:05d},业主{i},{80 + i % 60}.5\n" for i in range(1, BALLOTS + 1))
    roll = parse_roll(roll_csv.encode(), "roll.csv")
    codes = [f"BENCHVOTE-{i}" for i in range(1, BALLOTS + 1)]
    with rt.uow() as s:
        s.add(VoteRound(case_id=case.id, round=1, title="基准选票", items=json.dumps(ITEMS),
                        labels=json.dumps({i: f"候选人{i}" for i in ITEMS}, ensure_ascii=False), threshold="majority",
                        seats=7, deadline=now - timedelta(hours=1), opened_at=now - timedelta(days=8)))
        s.execute(insert(VoteBallot), [
            {"case_id": case.id, "round": 1, "code": code, "owner_id": f"O{i:05d}", "owner_name": f"业主{i}",
             "units": f"U{i:05d}", "area": f"{80 + i % 60}.5", "serial": i, "status": "delivered",
             "delivery_channel": "door", "issued_by": "street", "issued_at": now - timedelta(days=8)}
            for i, code in enumerate(codes, start=1)])
    _say("register written")
    votes = VoteService(rt)
    for who in ("community", "branch"):
        votes.designate_scrutineer(case.case_number, who, street)
    return case.case_number, codes, roll


def populate_online(url: str) -> tuple[str, list[str]]:
    """A second election case whose round is open (deadline a day ahead) with ONLINE_OWNERS +
    DOUBLE_BALLOTS + 1 issued ballots. Returns (case number, codes)."""
    from engine.config import Settings
    from engine.db.vote_models import VoteBallot, VoteRound
    from engine.runtime.actors import load_actor
    from engine.runtime.service import Runtime

    rt = Runtime(Settings(database_url=url, secret_key="bench", base_url="http://127.0.0.1"))
    with rt.uow() as s:
        street = load_actor(s, "street")
    case = rt.start_case("committee_election", "PK-JP-XC-01", street, {})
    now = datetime.now(UTC)
    n = ONLINE_OWNERS + DOUBLE_BALLOTS + 1
    codes = [f"BENCHONLINE-{i}" for i in range(1, n + 1)]
    with rt.uow() as s:
        s.add(VoteRound(case_id=case.id, round=1, title="基准网上投票", items=json.dumps(ITEMS),
                        labels=json.dumps({i: f"候选人{i}" for i in ITEMS}, ensure_ascii=False), threshold="majority",
                        seats=7, deadline=now + timedelta(days=1), opened_at=now - timedelta(days=8)))
        s.execute(insert(VoteBallot), [
            {"case_id": case.id, "round": 1, "code": code, "owner_id": f"P{i:05d}", "owner_name": f"业主{i}",
             "units": f"V{i:05d}", "area": f"{80 + i % 60}.5", "serial": i, "status": "delivered",
             "delivery_channel": "door", "issued_by": "street", "issued_at": now - timedelta(days=8)}
            for i, code in enumerate(codes, start=1)])
    return case.case_number, codes


async def vote_online(base: str, codes: list[str]) -> tuple[list[float], list[str]]:
    from engine.voting.online import ballot_pin

    times: list[float] = []
    errors: list[str] = []
    queue = list(reversed(codes))

    async def owner_phone(client: httpx.AsyncClient) -> None:
        while queue:
            code = queue.pop()
            body = {"code": code, "pin": ballot_pin(code), "marks": {i: "agree" for i in ITEMS}}
            t0 = time.perf_counter()
            r = await client.post("/api/online-vote", json=body)
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200 or not r.json().get("counted"):
                errors.append(f"{code}: {r.status_code} {r.text[:200]}")

    async with httpx.AsyncClient(base_url=base, timeout=60,
                                 limits=httpx.Limits(max_connections=ONLINE_CONCURRENCY)) as client:
        await asyncio.gather(*(owner_phone(client) for _ in range(ONLINE_CONCURRENCY)))
    return times, errors


async def double_submissions(base: str, pairs: list[str], hundred: str) -> dict[str, list]:
    """Each of `pairs` submitted twice at once, and `hundred` 100 times at once: the answers."""
    from engine.voting.online import ballot_pin

    answers: dict[str, list] = {}

    async def submit(client: httpx.AsyncClient, code: str) -> None:
        body = {"code": code, "pin": ballot_pin(code), "marks": {i: "agree" for i in ITEMS}}
        for attempt in range(3):  # a dropped connection is submitted again, as a phone would
            try:
                r = await client.post("/api/online-vote", json=body)
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.2)
        answers.setdefault(code, []).append(r.json().get("counted") if r.status_code == 200 else r.status_code)

    async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=200)) as client:
        await asyncio.gather(*(submit(client, c) for c in pairs for _ in range(2)))
        await asyncio.gather(*(submit(client, hundred) for _ in range(100)))
    return answers


def counted_once(url: str, answers: dict[str, list]) -> int:
    """1 when every double-submitted ballot has exactly one counted online vote in the database
    and exactly one of its answers said counted."""
    from engine.db.session import unit_of_work

    with unit_of_work(url) as s:
        rows = dict(s.execute(text(
            "SELECT b.code, count(o.id) FROM vote_ballot b LEFT JOIN vote_online o "
            "ON o.ballot_id = b.id AND NOT o.set_aside WHERE b.code = ANY(:codes) GROUP BY b.code"),
            {"codes": list(answers)}).all())
    ok = all(rows.get(code) == 1 and a.count(True) == 1 for code, a in answers.items())
    return 1 if ok else 0


async def login(client: httpx.AsyncClient, username: str) -> str:
    page = await client.get("/login")
    r = await client.post("/login", data={"username": username, "password": demo_password(),
                                          "csrf_token": _CSRF.search(page.text).group(1)})
    if r.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {r.status_code}")
    page = await client.get("/cases")
    return _CSRF.search(page.text).group(1)


def demo_password() -> str:
    from engine.demo import DEMO_PASSWORD

    return DEMO_PASSWORD


async def enter_all(base: str, case_number: str, codes: list[str]) -> tuple[list[float], list[str]]:
    times: list[float] = []
    errors: list[str] = []

    async def scrutineer(username: str, delay: float) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            csrf = await login(client, username)
            await asyncio.sleep(delay)
            for code in codes:
                form = {"csrf_token": csrf, "code": code, **{f"mark:{i}": "agree" for i in ITEMS}}
                t0 = time.perf_counter()
                r = await client.post(f"/cases/{case_number}/vote/entry", data=form)
                times.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 303:
                    errors.append(f"{username} {code}: {r.status_code}")

    # the second scrutineer follows a moment later, entering the same ballots (double entry)
    await asyncio.gather(scrutineer("community", 0.0), scrutineer("branch", 0.5))
    return times, errors


def settle_all(url: str, case_number: str, skip: int) -> None:
    """Two agreeing entries for every ballot the HTTP run did not enter (bulk rows)."""
    from engine.db.models import Case
    from engine.db.session import unit_of_work
    from engine.db.vote_models import VoteBallot, VoteEntry

    now = datetime.now(UTC)
    reading = json.dumps({"marks": {i: "agree" for i in ITEMS}}, sort_keys=True)
    with unit_of_work(url) as s:
        case_id = s.query(Case.id).filter(Case.case_number == case_number).scalar()
        ballots = s.query(VoteBallot.id).filter(VoteBallot.case_id == case_id).order_by(VoteBallot.serial).all()
        rows = [{"case_id": case_id, "ballot_id": b, "scrutineer": who, "reading": reading, "source": "csv",
                 "entered_at": now, "superseded": False, "set_aside": False}
                for (b,) in ballots[skip:] for who in ("community", "branch")]
        s.execute(insert(VoteEntry), rows)
        s.query(VoteBallot).filter(VoteBallot.case_id == case_id).update({"voted_channel": "paper"})


def count_once(url: str, case_number: str, roll) -> tuple[float, int]:
    from engine.db.models import Case
    from engine.db.session import unit_of_work
    from engine.domain.tally import tally
    from engine.voting.count import register_count

    t0 = time.perf_counter()
    with unit_of_work(url) as s:
        case_id = s.query(Case.id).filter(Case.case_number == case_number).scalar()
        counted = register_count(s, case_id, 1)
    result = tally(roll, counted.ballots, items=ITEMS, seats=7)
    return time.perf_counter() - t0, result.participating_owners


def p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20)[-1], 1) if len(values) >= 20 else round(max(values), 1)


def main() -> None:
    from bench.http import free_port, start_server, stop_server, wait_ready

    out: dict = {"online_vote_p95_ms": None, "double_submission_counted_once": None, "entry_p95_ms": None,
                 "count_10000_s": None, "target_online_p95_ms": TARGET_ONLINE_P95_MS,
                 "target_entry_p95_ms": TARGET_ENTRY_P95_MS, "target_count_s": TARGET_COUNT_S,
                 "owners": ONLINE_OWNERS, "online_concurrency": ONLINE_CONCURRENCY}
    pg = os.environ.get("HONGWU_TEST_PG_URL")
    if not pg:
        print("HONGWU_TEST_PG_URL is not set: no PostgreSQL to serve from", file=sys.stderr)
        print(json.dumps(out, ensure_ascii=False))
        return
    admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"hongwu_bench_vote_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    server = None
    keydir = tempfile.TemporaryDirectory()
    # The server and this process derive the same ballot PINs: one audit key file for both.
    os.environ["HONGWU_AUDIT_KEY_FILE"] = str(Path(keydir.name) / "audit.key")
    try:
        url = pg.rsplit("/", 1)[0] + "/" + name
        t0 = time.perf_counter()
        case_number, codes, roll = populate(url)
        _online_case, online_codes = populate_online(url)
        out["setup_s"] = round(time.perf_counter() - t0, 1)
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = Path(tmp) / "serve.log"
            server = start_server(url, port, log)
            wait_ready(base, server, log)
            _say("server ready")
            t0 = time.perf_counter()
            online_times, online_errors = asyncio.run(vote_online(base, online_codes[:ONLINE_OWNERS]))
            out.update({"online_votes": len(online_times), "online_errors": len(online_errors),
                        "online_vote_p95_ms": p95(online_times),
                        "online_vote_median_ms": round(statistics.median(online_times), 1),
                        "online_wall_s": round(time.perf_counter() - t0, 1)})
            for line in online_errors[:20]:
                print(line, file=sys.stderr)
            _say("online votes done")
            answers = asyncio.run(double_submissions(base, online_codes[ONLINE_OWNERS:-1], online_codes[-1]))
            out["double_submission_counted_once"] = counted_once(url, answers)
            out["double_submission_ballots"] = len(answers)
            _say("double submissions done")
            times, errors = asyncio.run(enter_all(base, case_number, codes[:ENTRY_BALLOTS]))
            stop_server(server)
            server = None
            for line in errors[:20]:
                print(line, file=sys.stderr)
        out.update({"entries": len(times), "entry_errors": len(errors), "entry_p95_ms": p95(times),
                    "entry_median_ms": round(statistics.median(times), 1)})
        _say("entries done")
        settle_all(url, case_number, ENTRY_BALLOTS)
        _say("settled")
        runs = [count_once(url, case_number, roll) for _ in range(3)]
        out["count_10000_s"] = round(min(r[0] for r in runs), 3)
        out["count_participating_owners"] = runs[0][1]
        out["machine_load_1min"] = round(os.getloadavg()[0], 2)
    finally:
        if server is not None:
            stop_server(server)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        keydir.cleanup()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
