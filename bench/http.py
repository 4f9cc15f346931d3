"""HTTP benchmark: `hongwu serve --workers 2` on PostgreSQL under 50 staff at once. Prints one JSON
object.

A scratch database gets the demo organisations, 50 street staff accounts and, for each of them,
a few running cases of the 25-step benchmark process (bench/_chain.py) with a task open. The
server then runs as a subprocess and this process drives it over real HTTP, one asyncio httpx
client per person (own cookies, own CSRF token): log in through the login form, then round after
round open the inbox, open one of their cases, open its task and submit it. Each person works on
their own cases, so a submission is never a conflict with a colleague; the next step of the same
case opens, so the work never runs out.

People do not click in lock step: logins are spread over a ramp-up and each person pauses
between clicks (THINK_S, seeded). Meanwhile `/healthz` (one `SELECT 1`) is probed on its own
connection: its p95, under the same load, is the floor a route is compared with.

Target (2-core machine, shared with the load generator): p95 ≤ 300 ms for every route, no errors,
no 5xx. Needs HONGWU_TEST_PG_URL (a scratch database is created and dropped); without it the
figures are null.

Reading the figures: the login POST is the costly route — one argon2id check is slow on purpose.
With the library's default (t=3, 64 MiB, 4 lanes) it cost about 200 ms of CPU on a quiet machine
and logins arriving together queued behind each other past the target; passwords are now hashed at
OWASP's minimum (t=2, 19 MiB, 1 lane, engine/orgs.py), about a sixth of that. The other routes
cost the server 15–20 ms of CPU each; their tails follow the machine's load (`machine_load_1min`:
other work on a shared machine shows up as a slower `/healthz` too, so compare a route's p95 with
`healthz_p95_ms` of the same run). HONGWU_BENCH_THINK_S=0,0.05 turns the pauses off to look for errors at overload.
"""
from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py, like the standard library's package that httpx imports: keep bench/
# itself off the import path before anything else is imported.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

ROOT = _BENCH.parent

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench._pg import throwaway_database  # noqa: E402

USERS = int(os.environ.get("HONGWU_BENCH_USERS", "50"))
CASES_PER_USER = 6  # 300 open cases at 50 users
ROUNDS = int(os.environ.get("HONGWU_BENCH_ROUNDS", "5"))  # inbox → case → task → submit, per person
RAMP_S = 20.0  # people arrive over this long (each login is an argon2 check, slow on purpose)
# Pause between two clicks of one person, uniform: a brisk clerk who reads nothing and fills a
# one-field form, so 50 of them offer about 18 requests/s (real staff would think far longer).
THINK_S = tuple(float(x) for x in os.environ.get("HONGWU_BENCH_THINK_S", "1.0,4.0").split(","))
HEALTHZ_EVERY_S = 0.1
TIMEOUT_S = 30.0
SERVER_WORKERS = 2
TARGET_P95_MS = 300
WARMUP_USERS = 4  # their requests, before the measured run, are not counted
NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)
FORM = {"ok": "true", "note": "同意"}

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_VERSION = re.compile(r'name="_version" value="(\d+)"')
_TASK_LINK = re.compile(r'href="/tasks/([0-9a-f-]{36})"')


def populate(url: str, tmp: Path, staff: list[str]) -> dict[str, list[str]]:
    """Demo organisations, the `staff` (street staff) sharing one password hash, and
    CASES_PER_USER running cases each, started by their owner. Returns username → case numbers."""
    from bench._chain import write_chain_process
    from engine import demo
    from engine.config import Settings
    from engine.db.migrate import upgrade
    from engine.db.session import engine_for
    from engine.orgs import ensure_user, hash_password
    from engine.runtime.actors import load_actor
    from engine.runtime.clock import FrozenClock
    from engine.runtime.service import Runtime, deploy

    upgrade(url)
    rt = Runtime(Settings(database_url=url, secret_key="bench"), FrozenClock(NOW))
    with rt.uow() as s:
        demo.seed(s, NOW, password=None)
        for i, name in enumerate(staff):
            ensure_user(s, name, f"街道工作人员{i + 1}", "street_staff", "PK-JP", None, NOW)
        # One argon2 hash for everyone: hashing 50 times would only slow the set-up.
        s.execute(text("UPDATE app_user SET password_hash = :h"), {"h": hash_password(demo.DEMO_PASSWORD)})
    bpmn_dir, forms_dir = write_chain_process(tmp)
    deploy(rt, [bpmn_dir], forms_dir)
    cases: dict[str, list[str]] = {}
    for name in staff:
        with rt.uow() as s:
            actor = load_actor(s, name)
        cases[name] = [rt.start_case("bench_chain", "PK-JP-XC-01", actor).case_number for _ in range(CASES_PER_USER)]
    with rt.uow() as s:
        s.execute(text("ANALYZE"))
    engine_for(url).dispose()
    return cases


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, HONGWU_DATABASE_URL=url, HONGWU_SECRET_KEY=uuid.uuid4().hex,
               HONGWU_BASE_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(SERVER_WORKERS)]
    with log.open("wb") as out:
        # A session of its own, so the whole process group (uvicorn's workers too) can be stopped.
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(base: str, server: subprocess.Popen, log: Path, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited ({server.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {limit_s:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group: the
    server's cost, whatever else the machine is busy with."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, … utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def stop_server(server: subprocess.Popen) -> None:
    import signal

    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


class Recorder:
    """Latencies per route and every unexpected answer."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.status_5xx = 0

    async def call(self, client: httpx.AsyncClient, route: str, method: str, path: str, expect: int,
                   **kwargs) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = await client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.errors.append(f"{route} {path}: {type(exc).__name__} {exc}")
            return None
        self.times[route].append((time.perf_counter() - t0) * 1000)
        if r.status_code >= 500:
            self.status_5xx += 1
        if r.status_code != expect:
            self.errors.append(f"{route} {path}: HTTP {r.status_code} (expected {expect}) {r.text[:200]!r}")
            return None
        return r


async def person(base: str, username: str, case_numbers: list[str], delay: float, rec: Recorder, rng: random.Random,
                 limits: httpx.Limits, rounds: int = ROUNDS, think_s: tuple[float, ...] = THINK_S) -> None:
    from engine import demo

    async def think() -> None:
        await asyncio.sleep(rng.uniform(*think_s))

    await asyncio.sleep(delay)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, limits=limits) as client:
        page = await rec.call(client, "login_page", "GET", "/login", 200)
        if page is None:
            return
        token = _CSRF.search(page.text).group(1)
        if await rec.call(client, "login", "POST", "/login", 303, data={
                "username": username, "password": demo.DEMO_PASSWORD, "csrf_token": token}) is None:
            return
        for n in range(rounds):
            await think()
            if await rec.call(client, "inbox", "GET", "/inbox", 200) is None:
                return
            await think()
            case_number = case_numbers[n % len(case_numbers)]
            case = await rec.call(client, "case", "GET", f"/cases/{case_number}", 200)
            if case is None:
                return
            link = _TASK_LINK.search(case.text)
            if link is None:
                rec.errors.append(f"case {case_number}: no open task of {username} on the case page")
                return
            await think()
            task_id = link.group(1)
            form = await rec.call(client, "task", "GET", f"/tasks/{task_id}", 200)
            if form is None:
                return
            await think()
            data = dict(FORM, csrf_token=_CSRF.search(form.text).group(1), _version=_VERSION.search(form.text).group(1),
                        _case=case_number)
            if await rec.call(client, "submit", "POST", f"/tasks/{task_id}", 303, data=data) is None:
                return


async def probe_healthz(base: str, stop: asyncio.Event, rec: Recorder) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as client:
        while not stop.is_set():
            await rec.call(client, "healthz", "GET", "/healthz", 200)
            await asyncio.sleep(HEALTHZ_EVERY_S)


async def warm_up(base: str, cases: dict[str, list[str]]) -> Recorder:
    """Each route a few times, several at once so both worker processes get some, before anything
    is measured: templates compiled, the process definition parsed, connection pools filled."""
    rec = Recorder()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    await asyncio.gather(*(person(base, name, numbers, 0.0, rec, random.Random(name), limits, rounds=2,
                                  think_s=(0.0, 0.0)) for name, numbers in cases.items()))
    return rec


async def drive(base: str, cases: dict[str, list[str]]) -> tuple[Recorder, float]:
    rec = Recorder()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)  # one browser tab each
    stop = asyncio.Event()
    prober = asyncio.create_task(probe_healthz(base, stop, rec))
    t0 = time.perf_counter()
    outcomes = await asyncio.gather(*(person(base, name, numbers, RAMP_S * i / len(cases), rec, random.Random(i), limits)
                                      for i, (name, numbers) in enumerate(cases.items())), return_exceptions=True)
    # A page without the expected form (no CSRF token, no version) stops that person: an error.
    rec.errors += [f"{type(e).__name__}: {e}" for e in outcomes if isinstance(e, Exception)]
    wall = time.perf_counter() - t0
    stop.set()
    await prober
    return rec, wall


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))], 1)


def summarise(rec: Recorder, wall: float) -> dict:
    routes = {name: {"p50_ms": round(statistics.median(t), 1), "p95_ms": _pct(t, 0.95), "rps": round(len(t) / wall, 2),
                     "requests": len(t)}
              for name, t in rec.times.items() if name != "healthz"}
    health = rec.times.get("healthz") or [float("nan")]
    return {"routes": routes, "over_target": sorted(n for n, r in routes.items() if r["p95_ms"] > TARGET_P95_MS), "healthz_p95_ms": _pct(health, 0.95), "healthz_p50_ms": round(statistics.median(health), 1),
            "errors": len(rec.errors), "status_5xx": rec.status_5xx, "wall_s": round(wall, 1)}


def main() -> None:
    out: dict = {"users": USERS, "server_workers": SERVER_WORKERS, "think_s": list(THINK_S), "ramp_s": RAMP_S,
                 "target_p95_ms": TARGET_P95_MS, "routes": None,
                 "healthz_p95_ms": None, "errors": None, "status_5xx": None}
    pg = os.environ.get("HONGWU_TEST_PG_URL")
    if not pg:
        print("HONGWU_TEST_PG_URL is not set: no PostgreSQL to serve from", file=sys.stderr)
        print(json.dumps(out, ensure_ascii=False))
        return
    server = None
    try:
        with throwaway_database(pg, "http") as url, tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            staff = [f"staff{i + 1:02d}" for i in range(USERS)]
            warm = [f"warmup{i + 1}" for i in range(WARMUP_USERS)]
            cases = populate(url, Path(tmp), staff + warm)
            out["setup_s"] = round(time.perf_counter() - t0, 1)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = Path(tmp) / "serve.log"
            server = start_server(url, port, log)
            wait_ready(base, server, log)
            warmed = asyncio.run(warm_up(base, {name: cases.pop(name) for name in warm}))
            if warmed.errors or warmed.status_5xx:
                raise RuntimeError("warm-up failed:\n" + "\n".join(warmed.errors[:10]))
            out["warmup_requests"] = sum(len(t) for t in warmed.times.values())
            cpu0, own0 = group_cpu_s(server.pid), time.process_time()
            rec, wall = asyncio.run(drive(base, cases))
            server_cpu, own_cpu = group_cpu_s(server.pid) - cpu0, time.process_time() - own0
            stop_server(server)
            for line in rec.errors[:20]:
                print(line, file=sys.stderr)
            if rec.errors or rec.status_5xx:
                # The server's own account, without the access log: worker restarts, tracebacks.
                print("\n".join(line for line in log.read_text(errors="replace").splitlines()
                                if '" 200 ' not in line and '" 303 ' not in line)[-6000:], file=sys.stderr)
        out.update(summarise(rec, wall))
        served = sum(len(t) for t in rec.times.values())
        # How busy the machine was: the server's CPU per request, the load generator's own, and
        # everything else (a shared machine makes latencies noisy; these say why).
        out["server_cpu_ms_per_request"] = round(server_cpu * 1000 / max(served, 1), 1)
        out["server_cpu_cores"] = round(server_cpu / wall, 2)
        out["client_cpu_cores"] = round(own_cpu / wall, 2)
        out["machine_load_1min"] = round(os.getloadavg()[0], 2)
    finally:
        if server is not None:
            stop_server(server)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
