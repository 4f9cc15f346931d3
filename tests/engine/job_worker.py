"""A worker process for the kill -9 test: the async-step service registered, jobs claimed and run
on the real clock until the stop file appears."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main(url: str, stop_file: str) -> None:
    import tests.engine.job_support  # noqa: F401  (registers the step's service)
    from engine.config import Settings
    from engine.runtime.jobs import run_due_jobs
    from engine.runtime.service import Runtime

    rt = Runtime(Settings(database_url=url, secret_key="x"))
    worker_id = f"kill-test:{os.getpid()}"
    while not Path(stop_file).exists():
        if not run_due_jobs(rt, worker_id, batch=1, limit=1):
            time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
