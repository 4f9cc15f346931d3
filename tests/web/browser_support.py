"""Running the real server for browser tests: uvicorn in a subprocess on a free port, against a
database the test prepared, stopped afterwards."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--lang=zh-CN", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(url: str, tmp: Path, secret: str = "browser-test", env: dict[str, str] | None = None,
                   python_code: str | None = None) -> Iterator[str]:
    """Serve the database at `url`; yields the base address. `env` adds to the server's
    environment; `python_code` (given the port as its argument) replaces plain uvicorn, e.g. to
    run the job thread in the same process as `hongwu serve` does."""
    port = free_port()
    env = dict(os.environ, HONGWU_DATABASE_URL=url, HONGWU_SECRET_KEY=secret, HONGWU_VAR_DIR=str(tmp),
               HONGWU_BASE_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(ROOT), **(env or {}))
    argv = ([sys.executable, "-c", python_code, str(port)] if python_code else
            [sys.executable, "-m", "uvicorn", "engine.web.app:app_from_env", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"])
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError((tmp / "server.log").read_text())
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def serve_with_jobs(prelude: str = "") -> str:
    """Python for `running_server(python_code=…)`: `prelude` (test doubles, imports), then the app
    with the job and timer thread in the same process, as `hongwu serve` runs it."""
    return "\n".join([
        "import sys, uvicorn",
        prelude,
        "from engine.commands.serve import start_timer_thread",
        "start_timer_thread(30.0)",
        "uvicorn.run('engine.web.app:app_from_env', factory=True, host='127.0.0.1', port=int(sys.argv[1]),"
        " log_level='warning')",
    ])


def demo_database(tmp: Path, bpmn_paths: list, training: bool = False) -> tuple[str, object]:
    """A fresh SQLite database under `tmp`, migrated, with the demo organisation and users and the
    given processes deployed (a training database when `training`, as `make run` makes);
    returns (url, runtime)."""
    from engine.config import BUNDLED_FORMS_DIR, Settings
    from engine.db.migrate import upgrade
    from engine.runtime.service import Runtime, deploy
    from tests.web.support import seed_demo

    url = f"sqlite:///{tmp / 'hongwu.db'}"
    upgrade(url)
    rt = Runtime(Settings(database_url=url, secret_key="browser-test", base_url="http://127.0.0.1"))
    if training:
        from engine.runtime.actors import Actor

        rt.mark_training(Actor.system("init"))
    seed_demo(rt)
    deploy(rt, bpmn_paths, BUNDLED_FORMS_DIR)
    return url, rt


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()
