"""Pages of the vote: the ballot register of a case (delivery, return, void and reissue, the
scrutineers, the export) and per-ballot entry by the scrutineers (code typed or scanned)."""
from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.domain import voting as rules
from engine.runtime.errors import HongwuError, ValidationFailed
from engine.voting.service import REGISTER_KEEPERS, VoteService

from ..context import Viewer, check_csrf, render, runtime, status_for, viewer
from ..hardening import content_disposition
from ..labels import ACTION_ZH, REFUSED_ZH

router = APIRouter(include_in_schema=False)
SHOWN_ROWS = 300  # the page lists this many; the export has them all
MAX_SHEET = 8 * 1024 * 1024

VOTE_ACTION_ZH = {
    "vote:ballots_registered": "选票登记", "vote:ballot_delivered": "登记选票送达", "vote:ballot_returned": "登记选票回收",
    "vote:ballot_voided": "作废选票", "vote:ballot_reissued": "补发选票", "vote:scrutineer_designated": "确定监票、计票人",
    "vote:ballot_entered": "录入选票", "vote:entry_corrected": "更正选票录入", "vote:ballot_set_aside": "重复投票另列",
    "vote:ballot_looked_up": "查看待录入选票",
}
ACTION_ZH.update(VOTE_ACTION_ZH)
REFUSED_ZH.update(VOTE_ACTION_ZH)


def votes(request: Request) -> VoteService:
    return VoteService(runtime(request))


def _register_page(request: Request, v: Viewer, case_number: str, extra: dict | None = None, status_code: int = 200):
    svc = votes(request)
    case = runtime(request).get_case(case_number, v.actor)
    summary = svc.register_summary(case_number, v.actor)
    rows = svc.register_rows(case_number, v.actor)
    code = (extra or {}).get("find", "")
    shown = [r for r in rows if code and code in r[0]] if code else rows[:SHOWN_ROWS]
    return render(request, "vote_register.html", {
        "case": case.as_dict(), "summary": summary, "rows": shown, "total_rows": len(rows),
        "keeper": v.role in REGISTER_KEEPERS, "channels": rules.DELIVERY_CHANNELS,
        "scrutineer": svc.is_scrutineer(case_number, v.actor), **(extra or {})}, status_code=status_code)


@router.get("/cases/{case_number}/vote")
def register_page(request: Request, case_number: str, v: Viewer = Depends(viewer), find: str = Query("", max_length=60),
                  done: str = Query("", max_length=200)):
    return _register_page(request, v, case_number, {"find": find.strip(), "done": done})


@router.get("/cases/{case_number}/vote/register.xlsx")
def register_export(request: Request, case_number: str, v: Viewer = Depends(viewer)):
    content = votes(request).register_xlsx(case_number, v.actor)
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": content_disposition(f"{case_number}-选票登记簿.xlsx")})


async def _register_action(request: Request, v: Viewer, case_number: str, done: str, call, values: dict):
    try:
        await run_in_threadpool(call)
    except HongwuError as exc:
        return _register_page(request, v, case_number, {"error": exc, "values": values}, status_code=status_for(exc))
    return RedirectResponse(f"/cases/{quote(case_number)}/vote?done={quote(done)}", status_code=303)


@router.post("/cases/{case_number}/vote/deliver", dependencies=[Depends(check_csrf)])
async def deliver(request: Request, case_number: str, v: Viewer = Depends(viewer), code: str = Form("", max_length=60),
                  channel: str = Form("", max_length=20)):
    return await _register_action(request, v, case_number, f"已登记 {code.strip()} 送达",
                                  lambda: votes(request).deliver(case_number, code, channel, v.actor),
                                  {"code": code, "channel": channel})


@router.post("/cases/{case_number}/vote/return", dependencies=[Depends(check_csrf)])
async def return_ballot(request: Request, case_number: str, v: Viewer = Depends(viewer),
                        code: str = Form("", max_length=60)):
    return await _register_action(request, v, case_number, f"已登记 {code.strip()} 回收",
                                  lambda: votes(request).return_ballot(case_number, code, v.actor), {"code": code})


@router.post("/cases/{case_number}/vote/void", dependencies=[Depends(check_csrf)])
async def void(request: Request, case_number: str, v: Viewer = Depends(viewer), code: str = Form("", max_length=60),
               reason: str = Form("", max_length=600), reissue: str = Form("")):
    return await _register_action(request, v, case_number, f"已作废 {code.strip()}" + ("并补发新票" if reissue else ""),
                                  lambda: votes(request).void_and_reissue(case_number, code, reason, v.actor,
                                                                          reissue=bool(reissue)),
                                  {"code": code, "reason": reason})


@router.post("/cases/{case_number}/vote/scrutineers", dependencies=[Depends(check_csrf)])
async def designate(request: Request, case_number: str, v: Viewer = Depends(viewer),
                    username: str = Form("", max_length=64)):
    return await _register_action(request, v, case_number, f"已确定监票、计票人 {username.strip()}",
                                  lambda: votes(request).designate_scrutineer(case_number, username, v.actor),
                                  {"username": username})


# --- per-ballot entry ----------------------------------------------------------------------------

def _entry_page(request: Request, v: Viewer, case_number: str, code: str, extra: dict | None = None,
                status_code: int = 200):
    svc = votes(request)
    case = runtime(request).get_case(case_number, v.actor)
    ballot, error = None, (extra or {}).get("error")
    if code and error is None:
        try:
            ballot = svc.ballot_for_entry(case_number, code, v.actor).as_dict()
        except HongwuError as exc:
            error, status_code = exc, status_for(exc)
    elif code and error is not None:
        try:
            ballot = svc.ballot_for_entry(case_number, code, v.actor).as_dict()
        except HongwuError:
            ballot = None
    progress = svc.entry_progress(case_number, v.actor)
    return render(request, "vote_entry.html", {
        "case": case.as_dict(), "code": code, "ballot": ballot, "progress": progress,
        "reasons": rules.INVALID_REASONS, "vote_zh": {"agree": "同意", "disagree": "反对", "abstain": "弃权"},
        **(extra or {}), "error": error}, status_code=status_code)


@router.get("/cases/{case_number}/vote/entry")
def entry_page(request: Request, case_number: str, v: Viewer = Depends(viewer), code: str = Query("", max_length=60),
               done: str = Query("", max_length=200)):
    return _entry_page(request, v, case_number, code.strip(), {"done": done})


@router.post("/cases/{case_number}/vote/entry", dependencies=[Depends(check_csrf)])
async def enter(request: Request, case_number: str, v: Viewer = Depends(viewer)):
    form = await request.form()
    code = str(form.get("code") or "").strip()[:60]
    invalid = str(form.get("invalid") or "").strip() or None
    marks = {k[5:]: str(val) for k, val in form.items() if k.startswith("mark:") and str(val)}
    correcting = bool(form.get("correct"))
    reason = str(form.get("correction_reason") or "") if correcting else None
    try:
        view = await run_in_threadpool(votes(request).enter, case_number, code, v.actor, marks, invalid, reason)
    except HongwuError as exc:
        return _entry_page(request, v, case_number, code, {"error": exc, "values": {
            "marks": marks, "invalid": invalid or "", "correction_reason": reason or ""}}, status_code=status_for(exc))
    done = f"选票 {view.code} 已录入：{view.state_zh}"
    return RedirectResponse(f"/cases/{quote(case_number)}/vote/entry?done={quote(done)}", status_code=303)


@router.post("/cases/{case_number}/vote/entry-sheet", dependencies=[Depends(check_csrf)])
async def enter_sheet(request: Request, case_number: str, v: Viewer = Depends(viewer), file: UploadFile = File(...)):
    content = await file.read(MAX_SHEET + 1)
    try:
        if len(content) > MAX_SHEET:
            raise ValidationFailed("file too large", f"录入文件不超过 {MAX_SHEET // 1024 // 1024} MB")
        out = await run_in_threadpool(votes(request).enter_sheet, case_number, content, file.filename or "sheet.csv",
                                      v.actor)
    except HongwuError as exc:
        return _entry_page(request, v, case_number, "", {"error": exc, "sheet_problems": exc.details},
                           status_code=status_for(exc))
    done = f"已按文件录入 {out['ballots']} 张选票"
    return RedirectResponse(f"/cases/{quote(case_number)}/vote/entry?done={quote(done)}", status_code=303)


@router.get("/cases/{case_number}/vote/summary.json")
def summary_json(request: Request, case_number: str, v: Viewer = Depends(viewer)):
    """Register counts (for the case page card and scripts)."""
    return Response(json.dumps(votes(request).register_summary(case_number, v.actor), ensure_ascii=False),
                    media_type="application/json")
