"""Large owner rolls (业主名册) imported in the background.

The roll is uploaded on the committee's user task 确认业主名册: its completion guard
(`committee_check_roll`) parses and validates the file and the next step (`load_roll`) reads the
totals. A roll of more than `HONGWU_ROLL_JOB_ROWS` rows (2,000 by default; counted cheaply,
`owner_roll.count_rows`) is not parsed in the request. Instead — and this is the design choice —
the *completion of the step* is deferred, not the step itself:

1. `defer` makes the checks `complete_task` makes first (task open, role, holder, running case,
   version), stores the file with the case and queues a `roll_import` job, in one transaction.
2. The job completes the task through `Runtime.complete_task` as the person who uploaded it,
   with the form data they sent: the same completion guard validates the roll (reporting progress
   every 500 rows through `ServiceContext.extra["progress"]`), the same invariants, the same
   audit events (`task_completed` by them), the same next steps.
3. A refusal — the roll's problems, every one with its line, as the form would list them; or
   someone else completed the task, or the case changed — deletes the stored file: the task stays
   open and nothing else changes.

So the step keeps every rule it has on the synchronous path; only the waiting moves off the
request. Which file field is an owner roll is said by the form itself (`"x-template": "roll"`,
the marker that offers the roll template for download). The person sees the job's page (bar,
rows checked / rows, estimate), may leave and come back (我的后台任务, or the case page's 后台处理
card), and finds the case moved on when it is done. The task's completion and the job's done mark
are two transactions: should the worker die between them, the retry finds the case's data
referring to the stored roll and reports the import done without completing anything again (a
file the case refers to is never deleted).
"""
from __future__ import annotations

import os
from typing import Any

from engine.attachments import PendingUpload
from engine.domain.owner_roll import count_rows
from engine.runtime import background
from engine.runtime.actors import Actor, load_actor
from engine.runtime.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.runtime.jobs import JobOutcome, JobRequest, register_kind

KIND = "roll_import"
ROLL_TEMPLATE = "roll"  # the form's x-template of an owner-roll file field
MAX_PROBLEMS_SHOWN = 1000  # a refused roll's page lists this many problems and counts the rest


def threshold() -> int:
    """Rolls with more rows than this are imported in the background."""
    return int(os.environ.get("HONGWU_ROLL_JOB_ROWS", "2000"))


def _roll_field(schema: dict[str, Any], data: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    """(path, upload key) of a newly uploaded owner roll in the form data, if any."""
    if not isinstance(data, dict):
        return None
    for name, sub in (schema.get("properties") or {}).items():
        value = data.get(name)
        if not isinstance(sub, dict) or value is None:
            continue
        if sub.get("x-template") == ROLL_TEMPLATE and isinstance(value, dict) \
                and isinstance(value.get(PendingUpload.MARK), str):
            return (*path, name), value[PendingUpload.MARK]
        found = _roll_field(sub, value, (*path, name))
        if found is not None:
            return found
    return None


def defer(rt, task_id: str, actor: Actor, data: dict[str, Any], expected_version: int | None,
          uploads: dict[str, PendingUpload]) -> str | None:
    """The job id when the form carries an owner roll too large to import in the request; None
    when the task is completed the ordinary way."""
    if not uploads:
        return None
    info = rt.get_task(task_id, actor, "complete_task")
    found = _roll_field(info.get("schema") or {}, data)
    if found is None:
        return None
    path, key = found
    upload = uploads.get(key)
    if upload is None or count_rows(upload.content, upload.filename) <= threshold():
        return None
    return background.defer_completion(rt, KIND, task_id, actor, data, expected_version, path, upload,
                                       info["task"]["title"])


@register_kind(KIND, "导入业主名册")
def run_import(rt, request: JobRequest, progress) -> JobOutcome:
    p = request.params
    number = background.completed_with(rt, request.case_id, p["attachment_id"])
    summary: dict[str, Any] = {}
    if number is None:  # not yet completed by an earlier attempt of this job
        with rt.uow() as s:
            actor = load_actor(s, request.triggered_by)
        try:
            # Rows checked of rows + 1: the last part is the rest of the completion (the totals, the notice).
            view = rt.complete_task(p["task_id"], actor, p["data"], p["expected_version"],
                                    progress=lambda done, total: progress(done, total + 1))
        except (ValidationFailed, Forbidden, Conflict, NotFound) as exc:  # the roll's problems, line by line
            return _refused(rt, request, exc.message_zh, exc.details)
        number, summary = view.case_number, view.summary
    counts = f"（{summary['units']} 套房屋、{summary['owners']} 名业主）" if {"units", "owners"} <= set(summary) else ""
    return JobOutcome({"case_number": number,
                       "summary_zh": f"业主名册已通过校验并导入{counts}，案件 {number} 已进入下一步"})


def _refused(rt, request: JobRequest, message_zh: str, details: list[dict] | None = None) -> JobOutcome:
    background.refuse_staged(rt, request, message_zh)
    details = details or []
    return JobOutcome({"refused": True, "message_zh": message_zh, "problems": details[:MAX_PROBLEMS_SHOWN],
                       "more_problems": max(0, len(details) - MAX_PROBLEMS_SHOWN)})
