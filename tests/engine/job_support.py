"""A process with one async step, and the service it runs: it stores one attachment per run
(the effect that must commit exactly once), reports progress page by page, and fails on demand."""
from __future__ import annotations

import os
import time
from pathlib import Path

from engine.attachments import store_attachment
from engine.runtime.services import ServiceContext, service

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ASYNC_BPMN = FIXTURES / "jobs" / "async_step.bpmn"
FORMS = FIXTURES / "forms"
FAILURES = {"left": 0}  # attempts still to fail (this process)
PAGE_SECONDS = float(os.environ.get("HONGWU_TEST_PAGE_SECONDS", "0"))


@service("test_job_step", context=True)
def test_job_step(ctx: ServiceContext, pages: int) -> dict:
    fail_file = os.environ.get("HONGWU_TEST_FAIL_FILE")  # another process decides (browser test)
    if FAILURES["left"] > 0 or fail_file and Path(fail_file).exists():
        FAILURES["left"] = max(0, FAILURES["left"] - 1)
        raise RuntimeError("打印机离线")
    progress = ctx.extra.get("progress")
    pages = max(1, min(int(pages), 50))
    for i in range(1, pages + 1):
        if PAGE_SECONDS:
            time.sleep(PAGE_SECONDS)
        if progress:
            progress(i, pages)
    att = store_attachment(ctx.session, filename="made.txt", content=f"{ctx.case.case_number} {pages}".encode(),
                           actor=ctx.actor, now=ctx.now, case_id=ctx.case.id)
    return {"attachment_id": att.id, "pages": pages}
