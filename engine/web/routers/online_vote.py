"""Owners vote online (public pages, no login: the ballot code and its PIN or the owner's ID
digits are the credential),
the receipt check, and the staff's participation view and unlock."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.runtime.errors import HongwuError, ValidationFailed
from engine.voting.credentials import FACTOR_ID, FACTOR_PIN, FACTOR_ZH
from engine.voting.online import NotAccepted, OnlineVoting, normalize_ballot_code, normalize_receipt

from ..context import Viewer, check_csrf, error_payload, render, runtime, status_for, viewer
from ..labels import ACTION_ZH, REFUSED_ZH

router = APIRouter(include_in_schema=False)
ONLINE_ACTION_ZH = {"vote:online_voted": "业主网上投票", "vote:online_set_aside": "重复网上投票另列",
                    "vote:online_pin_locked": "投票密码或身份证号后六位输错次数过多，选票锁定",
                    "vote:online_pin_unlocked": "解锁网上投票"}
ACTION_ZH.update(ONLINE_ACTION_ZH)
REFUSED_ZH.update(ONLINE_ACTION_ZH)
VOTE_ZH = {"agree": "同意", "disagree": "反对", "abstain": "弃权"}


def online(request: Request) -> OnlineVoting:
    return OnlineVoting(runtime(request))


def _marks(form) -> dict[str, str]:
    return {k[5:]: str(v) for k, v in form.items() if k.startswith("mark:") and str(v)}


def _factor(f: Any) -> str:
    """Which second factor the page asks for: the ballot's QR link says (presentation only — the
    round's own factor is what is checked, and an unknown code gets the same page)."""
    return FACTOR_ID if str(f or "") == FACTOR_ID else FACTOR_PIN


def _form_page(request: Request, code: str, error: HongwuError | None = None, status_code: int = 200,
               factor: str = FACTOR_PIN):
    return render(request, "vote_online.html", {"step": "code", "code": code, "error": error, "factor": factor,
                                                "factor_zh": FACTOR_ZH[factor]}, status_code=status_code)


@router.get("/vote")
def vote_start(request: Request, code: str = Query("", max_length=60), f: str = Query("", max_length=16)):
    return _form_page(request, normalize_ballot_code(code), factor=_factor(f))


@router.get("/vote/receipt")
def receipt_page(request: Request, r: str = Query("", max_length=40)):
    found = online(request).check_receipt(r) if r.strip() else None
    return render(request, "vote_receipt.html", {"asked": normalize_receipt(r) if r.strip() else "", "found": found},
                  status_code=200 if found or not r.strip() else 404)


@router.get("/vote/{code}")
def vote_with_code(request: Request, code: str, f: str = Query("", max_length=16)):
    return _form_page(request, normalize_ballot_code(code), factor=_factor(f))


@router.post("/vote/open", dependencies=[Depends(check_csrf)])
async def vote_open(request: Request, code: str = Form("", max_length=60), pin: str = Form("", max_length=16),
                    f: str = Form("", max_length=16)):
    code = normalize_ballot_code(code)
    try:
        ballot = await run_in_threadpool(online(request).open_ballot, code, pin)
    except HongwuError as exc:
        return _form_page(request, code, exc, status_for(exc), factor=_factor(f))
    return render(request, "vote_online.html", {"step": "ballot", "code": code, "pin": pin.strip(),
                                                "factor": _factor(f), "ballot": ballot.as_dict(), "vote_zh": VOTE_ZH})


@router.post("/vote/cast", dependencies=[Depends(check_csrf)])
async def vote_cast(request: Request):
    form = await request.form()
    code = normalize_ballot_code(str(form.get("code") or ""))
    pin = str(form.get("pin") or "")[:16]
    try:
        out = await run_in_threadpool(online(request).cast, code, pin, _marks(form))
    except HongwuError as exc:
        if isinstance(exc, NotAccepted):
            return _form_page(request, code, exc, status_for(exc), factor=_factor(form.get("f")))
        try:  # show the ballot again with the reason (the PIN was right)
            ballot = await run_in_threadpool(online(request).open_ballot, code, pin)
        except HongwuError as again:
            return _form_page(request, code, again, status_for(again))
        return render(request, "vote_online.html", {"step": "ballot", "code": code, "pin": pin.strip(),
                                                    "factor": _factor(form.get("f")),
                                                    "ballot": ballot.as_dict(), "vote_zh": VOTE_ZH, "error": exc,
                                                    "values": _marks(form)}, status_code=status_for(exc))
    return RedirectResponse(f"/vote/receipt?r={quote(out['receipt'])}", status_code=303)


@router.post("/api/online-vote")
async def vote_cast_api(request: Request):
    """The same vote as the page, as JSON {code, pin, marks}: {receipt, counted, reason_zh}. The
    code and PIN are the credential (no session, so no cross-site request can borrow one)."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    try:
        if not isinstance(body, dict):
            raise ValidationFailed("a JSON object is required", "请求体须为 JSON 对象")
        out = await run_in_threadpool(online(request).cast, str(body.get("code") or ""), str(body.get("pin") or ""),
                                      body.get("marks"))
    except HongwuError as exc:
        return JSONResponse(error_payload(exc), status_code=status_for(exc))
    return JSONResponse({**out, "voted_at": out["voted_at"].isoformat()})


# --- staff ----------------------------------------------------------------------------------------

def _participation(request: Request, v: Viewer, case_number: str) -> dict[str, Any]:
    return online(request).participation(case_number, v.actor)


@router.get("/cases/{case_number}/vote/participation")
def participation_page(request: Request, case_number: str, v: Viewer = Depends(viewer),
                       done: str = Query("", max_length=200)):
    p = _participation(request, v, case_number)
    case = runtime(request).get_case(case_number, v.actor)
    locked = online(request).locked_codes(case_number, v.actor)
    return render(request, "vote_participation.html", {"case": case.as_dict(), "p": p, "locked": locked, "done": done})


@router.get("/cases/{case_number}/vote/participation.json")
def participation_json(request: Request, case_number: str, v: Viewer = Depends(viewer)):
    p = _participation(request, v, case_number)
    if p.get("deadline") is not None:
        p["deadline"] = p["deadline"].isoformat()
    return Response(json.dumps(p, ensure_ascii=False), media_type="application/json")


@router.post("/cases/{case_number}/vote/unlock", dependencies=[Depends(check_csrf)])
async def unlock(request: Request, case_number: str, v: Viewer = Depends(viewer), code: str = Form("", max_length=60),
                 reason: str = Form("", max_length=600)):
    try:
        await run_in_threadpool(online(request).unlock, case_number, code, v.actor, reason)
    except HongwuError as exc:
        p = _participation(request, v, case_number)
        case = runtime(request).get_case(case_number, v.actor)
        return render(request, "vote_participation.html", {
            "case": case.as_dict(), "p": p, "locked": online(request).locked_codes(case_number, v.actor),
            "error": exc}, status_code=status_for(exc))
    done = f"已解锁选票 {normalize_ballot_code(code)}"
    return RedirectResponse(f"/cases/{quote(case_number)}/vote/participation?done={quote(done)}", status_code=303)
