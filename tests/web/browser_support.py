"""Running the real server for browser tests: uvicorn in a subprocess on a free port, against a
database the test prepared, stopped afterwards."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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
def running_server(url: str, tmp: Path, secret: str = "browser-test") -> Iterator[str]:
    """Serve the database at `url`; yields the base address."""
    port = free_port()
    env = dict(os.environ, HONGWU_DATABASE_URL=url, HONGWU_SECRET_KEY=secret, HONGWU_VAR_DIR=str(tmp),
               HONGWU_BASE_URL=f"http://127.0.0.1:{port}")
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "engine.web.app:app_from_env", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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
