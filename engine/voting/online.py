"""Owners vote online with the code printed on their paper ballot and a second factor.

- **Second factor.** Chosen per compound (setting `vote_second_factor`) and fixed on the round
  when its ballots are issued, since the ballots print it (engine.voting.credentials):
  - `pin`: an HMAC of the code under a key derived from the audit signing key, printed on the
    ballot at render time and stored nowhere, not in the document's stored context, not in the
    register. Checking it recomputes it.
  - `id_last6`: the last six characters of the owner's ID number on the roll (X in either case);
    the ballot keeps only a keyed hash of them with the owner id. The ballot prints no PIN, and
    a PIN typed in such a round is simply a wrong answer (and the ID digits in a PIN round).
- **Tries.** Every wrong PIN counts on the ballot's row; at `MAX_PIN_FAILURES` the ballot is
  locked (audited) until staff unlock it (audited). Unknown code, wrong PIN and locked ballot get
  the same answer, through the same work (one HMAC, one UPDATE by code), so the page never says
  whether a code exists to someone without its PIN.
- **One vote per ballot.** Whichever channel records the vote first wins: an online vote on a
  ballot already voted (online, or its paper ballot returned to the box or entered) is kept but
  set aside, with its reason, and listed on the 计票表. The case row then the ballot row are locked
  (the order the staff's units use), and a unique index allows one counted online vote per ballot.
- **Closing.** Online voting is open while the round's deadline is in the future by the case's
  clock; at the deadline instant it is closed.
- **No early results.** Audit events of online votes carry the ballot code and receipt, never
  the marks; participation reports heads and area only.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Case, OrgUnit
from engine.db.vote_models import VoteBallot, VoteOnline, VoteRound
from engine.domain import voting as rules
from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, NotFound, RuleRefused, ValidationFailed
from engine.runtime.retries import with_retries

from . import register
from .credentials import PIN_DIGITS, answer_ok, ballot_pin  # noqa: F401  (ballot_pin, PIN_DIGITS: re-exported)
from .service import REGISTER_KEEPERS, VOTING_PROCESSES

MAX_PIN_FAILURES = 5
ONLINE_ACTOR = "业主网上投票"
# One answer for an unknown code, a wrong PIN or ID digits and a locked ballot.
NOT_ACCEPTED_ZH = ("选票编号或验证信息（网上投票密码或身份证号后六位）不正确。"
                   "连续输错5次的选票将被锁定，须请社区工作人员核实身份后解锁。")
REQUIRED_ZH = "请输入选票编号和网上投票密码（或身份证号后六位）"
RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off a phone and typed back


def normalize_ballot_code(code: str) -> str:
    return "".join(str(code or "").split()).upper()[:60]


def _new_receipt() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_receipt(code: str) -> str:
    raw = "".join(ch for ch in str(code or "").upper() if ch.isalnum())[:12]
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else raw


class NotAccepted(RuleRefused):
    """Unknown code, wrong PIN or locked ballot: deliberately one answer."""

    def __init__(self) -> None:
        super().__init__("code or PIN not accepted", NOT_ACCEPTED_ZH,
                         details=[{"field": "pin", "message": "code or PIN not accepted", "message_zh": NOT_ACCEPTED_ZH}])


@dataclass
class OwnerBallot:
    code: str
    round: int
    title: str
    compound: str
    owner_name: str
    units: str
    items: list[str]
    labels: dict[str, str]
    deadline: datetime | None
    voted: dict | None  # this ballot's counted online vote, if any: {receipt, voted_at}

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class OnlineVoting:
    """The public side of the vote (no login: the ballot code and PIN are the credential), and
    the staff's unlock and participation views."""

    def __init__(self, runtime) -> None:
        self.rt = runtime

    # --- credential check ------------------------------------------------------------------

    def _check(self, s: Session, code: str, pin: str) -> tuple[VoteBallot, Case, list]:
        """The ballot if code and second factor (the round's: PIN or ID digits) are right and it is
        not locked; else counts the failure on the ballot (if any) and raises NotAccepted after
        committing that count."""
        row = s.execute(select(VoteBallot.id, VoteBallot.case_id, VoteBallot.pin_locked_at, VoteBallot.owner_id,
                               VoteBallot.id_check, VoteRound.second_factor)
                        .join(VoteRound, (VoteRound.case_id == VoteBallot.case_id)
                              & (VoteRound.round == VoteBallot.round))
                        .where(VoteBallot.code == code)).first()
        # One keyed hash for unknown codes too: same work either way.
        ok = answer_ok(row.second_factor if row is not None else "pin", code,
                       row.owner_id if row is not None else "", row.id_check if row is not None else None, pin)
        if row is not None and ok and row.pin_locked_at is None:
            case = self._lock_case(s, row.case_id)
            b = self._lock_ballot(s, row.id)
            if b.pin_locked_at is None:
                return b, case, []
        # Wrong PIN (or locked, or unknown): one UPDATE by code whatever the case.
        s.execute(update(VoteBallot).where(VoteBallot.code == code, VoteBallot.pin_locked_at.is_(None))
                  .values(pin_failures=VoteBallot.pin_failures + 1))
        raise _Failed(row.case_id if row is not None else None, code)

    @staticmethod
    def _lock_case(s: Session, case_id: int) -> Case:
        q = select(Case).where(Case.id == case_id)
        if s.get_bind().dialect.name != "postgresql":
            return s.scalars(q).one()
        case = s.scalars(q.with_for_update().execution_options(populate_existing=True)).one()
        # Locked, so its chain head is current: the vote's event appends without reading it again
        # (votes of one election queue on this row; the less they do under it, the shorter the queue).
        audit.case_row_locked(s, case)
        return case

    @staticmethod
    def _lock_ballot(s: Session, ballot_id: int) -> VoteBallot:
        q = select(VoteBallot).where(VoteBallot.id == ballot_id).execution_options(populate_existing=True)
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        return s.scalars(q).one()

    def _after_failure(self, failed: _Failed) -> None:
        """Lock a ballot that reached the limit, with its audit event (its own transaction, the
        case row locked first, as every unit of the vote does)."""
        case_id = failed.case_id
        if case_id is None:
            return

        def unit() -> None:
            with self.rt.uow() as s:
                case = self._lock_case(s, case_id)
                b = s.scalar(select(VoteBallot).where(VoteBallot.code == failed.code))
                if b is None or b.pin_locked_at is not None or b.pin_failures < MAX_PIN_FAILURES:
                    return
                b = self._lock_ballot(s, b.id)
                now = self.rt.case_clock(case).now()
                b.pin_locked_at = now
                audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=ONLINE_ACTOR,
                             action="vote:online_pin_locked", now=now,
                             detail={"code": b.code, "owner_id": b.owner_id, "failures": b.pin_failures})
        with_retries(unit)

    def _guarded(self, code: str, pin: str, body):
        code = normalize_ballot_code(code)
        if not code or not str(pin or "").strip():
            raise ValidationFailed("code and PIN are required", REQUIRED_ZH,
                                   details=[{"field": "pin", "message": "required", "message_zh": REQUIRED_ZH}])

        def unit():
            with self.rt.uow() as s:
                try:
                    b, case, _ = self._check(s, code, pin)
                except _Failed as failed:
                    return failed  # committed: the failed try counts though the answer is a refusal
                return body(s, case, b)

        out = with_retries(unit)
        if isinstance(out, _Failed):
            self._after_failure(out)
            raise NotAccepted()
        return out

    # --- the owner's steps ----------------------------------------------------------------------

    def _open_checks(self, s: Session, case: Case, b: VoteBallot) -> tuple[VoteRound, datetime]:
        if case.process_key not in VOTING_PROCESSES:
            raise NotAccepted()
        if b.status == "void":
            raise RuleRefused("the ballot is void", "该选票已作废，不能投票；如已补发新选票，请使用新选票上的编号和密码")
        r = s.get(VoteRound, (case.id, b.round))
        now = self.rt.case_clock(case).now()
        if r is None or r.deadline is None:
            raise RuleRefused("online voting is not open for this round", "本轮表决未设投票截止时间，不开放网上投票")
        if now >= r.deadline:
            raise RuleRefused("online voting has closed", "网上投票已于投票截止时间关闭，不能再投票")
        return r, now

    def _owner_ballot(self, s: Session, case: Case, b: VoteBallot, r: VoteRound) -> OwnerBallot:
        mine = s.scalar(select(VoteOnline).where(VoteOnline.ballot_id == b.id, VoteOnline.set_aside.is_(False)))
        compound = s.get(OrgUnit, case.compound_id)
        return OwnerBallot(b.code, b.round, r.title, compound.name if compound is not None else "",
                           b.owner_name, b.units, json.loads(r.items), json.loads(r.labels), r.deadline,
                           {"receipt": mine.receipt, "voted_at": mine.voted_at} if mine is not None else None)

    def open_ballot(self, code: str, pin: str) -> OwnerBallot:
        """Code and PIN → the owner's ballot (its items as printed), or why not."""
        def body(s: Session, case: Case, b: VoteBallot) -> OwnerBallot:
            r, _ = self._open_checks(s, case, b)
            return self._owner_ballot(s, case, b, r)
        return self._guarded(code, pin, body)

    def cast(self, code: str, pin: str, marks: dict | None) -> dict:
        """Record the owner's vote; returns {receipt, counted, reason_zh, voted_at}. A ballot
        already voted through any channel keeps its first vote: this one is set aside."""
        def body(s: Session, case: Case, b: VoteBallot) -> dict:
            r, now = self._open_checks(s, case, b)
            if marks is not None and not isinstance(marks, dict):
                raise rules.VoteRefused("marks must be an object", "表决意见格式不正确", "marks")
            reading = rules.check_reading(marks, None, json.loads(r.items))
            reason = None
            if b.voted_channel is not None:
                reason = f"重复投票：{rules.CHANNEL_ZH[b.voted_channel]}已先行记录，本次网上投票另列不计"
            elif b.status == "returned":
                reason = "重复投票：纸质选票已投入票箱回收，本次网上投票另列不计"
            else:
                b.voted_channel, b.voted_at = "online", now
            receipt = _new_receipt()
            s.add(VoteOnline(case_id=case.id, ballot_id=b.id, reading=json.dumps(reading.as_dict(), ensure_ascii=False,
                                                                                  sort_keys=True),
                             receipt=receipt, voted_at=now, set_aside=reason is not None, set_aside_reason=reason))
            s.flush()
            # The marks stay out of the audit trail: it is readable while voting is still open.
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=ONLINE_ACTOR,
                         action="vote:online_set_aside" if reason else "vote:online_voted", now=now,
                         detail={"code": b.code, "owner_id": b.owner_id, "receipt": receipt,
                                 **({"reason": reason} if reason else {})})
            return {"code": b.code, "receipt": receipt, "counted": reason is None, "reason_zh": reason,
                    "voted_at": now}
        try:
            return self._guarded(code, pin, body)
        except rules.VoteRefused as exc:
            raise RuleRefused(exc.message, exc.message_zh,
                              details=[{"field": exc.field or "", "message": exc.message,
                                        "message_zh": exc.message_zh}]) from exc
        except IntegrityError as exc:  # a concurrent first vote won past the lock: never counted twice
            raise RuleRefused("the ballot was voted concurrently", "该选票已有表决记录，请查询回执") from exc

    def check_receipt(self, receipt: str) -> dict | None:
        """What a receipt says: counted (the ballot's first vote) or set aside with the reason.
        None for an unknown receipt. Never the marks."""
        receipt = normalize_receipt(receipt)
        if not receipt:
            return None
        with self.rt.uow() as s:
            row = s.execute(select(VoteOnline, VoteBallot).join(VoteBallot, VoteBallot.id == VoteOnline.ballot_id)
                            .where(VoteOnline.receipt == receipt)).first()
            if row is None:
                return None
            v, b = row
            r = s.get(VoteRound, (b.case_id, b.round))
            counted = not v.set_aside and b.status != "void" and b.voted_channel == "online"
            return {"receipt": v.receipt, "code": b.code, "round": b.round, "title": r.title if r else "",
                    "voted_at": v.voted_at, "counted": counted,
                    "reason_zh": v.set_aside_reason or ("" if counted else "该选票已作废，本票不计入")}

    # --- staff ------------------------------------------------------------------------------

    def unlock(self, case_number: str, code: str, actor: Actor, reason: str) -> dict:
        """Staff unlock a ballot locked after too many wrong PINs (after checking who asks)."""
        if actor.role not in REGISTER_KEEPERS:
            raise Forbidden(f"role {actor.role} may not unlock ballots", "当前角色不能解锁选票")
        reason = str(reason or "").strip()
        if not reason:
            raise ValidationFailed("a reason is required", "解锁须说明理由（如：已核实业主身份）",
                                   details=[{"field": "reason", "message": "required", "message_zh": "须填写理由"}])

        def unit() -> dict:
            with self.rt.uow() as s:
                q = select(Case).where(Case.case_number == case_number)
                if s.get_bind().dialect.name == "postgresql":
                    q = q.with_for_update()
                case = s.scalar(q)
                if case is None or not actor.covers(case.org_path) or case.process_key not in VOTING_PROCESSES:
                    raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
                code_n = normalize_ballot_code(code)
                b = s.scalar(select(VoteBallot).where(VoteBallot.code == code_n, VoteBallot.case_id == case.id))
                if b is None:
                    raise NotFound(f"no ballot {code_n!r} in this case", f"本案没有编号为「{code_n}」的选票")
                b = self._lock_ballot(s, b.id)
                if b.pin_locked_at is None:
                    raise RuleRefused("the ballot is not locked", f"选票「{b.code}」未被锁定，无需解锁")
                now = self.rt.case_clock(case).now()
                failures = b.pin_failures
                b.pin_locked_at, b.pin_failures = None, 0
                audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                             action="vote:online_pin_unlocked", now=now,
                             detail={"code": b.code, "owner_id": b.owner_id, "failures": failures, "reason": reason[:500]})
                return {"code": b.code, "unlocked": True}
        return with_retries(unit)

    def locked_codes(self, case_number: str, actor: Actor) -> list[str]:
        with self.rt.uow() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            if case is None or not actor.covers(case.org_path):
                raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
            return list(s.scalars(select(VoteBallot.code).where(VoteBallot.case_id == case.id,
                                                                 VoteBallot.pin_locked_at.is_not(None))
                                  .order_by(VoteBallot.serial)))

    def participation(self, case_number: str, actor: Actor) -> dict:
        """Heads and area of the owners who have voted in the latest round (online, paper in the
        box, or entered) against the Art. 278 two-thirds quorum; never a figure per item."""
        with self.rt.uow() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            if case is None or not actor.covers(case.org_path) or case.process_key not in VOTING_PROCESSES:
                raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
            rnd = register.latest_round(s, case.id)
            if rnd is None:
                return {"round": None}
            r = s.get(VoteRound, (case.id, rnd))
            rows = s.execute(select(VoteBallot.owner_id, VoteBallot.area, VoteBallot.status, VoteBallot.voted_channel)
                             .where(VoteBallot.case_id == case.id, VoteBallot.round == rnd,
                                    VoteBallot.status != "void")).all()
            areas = {o: Decimal(a) for o, a, _st, _ch in rows}
            voted = [o for o, _a, st, ch in rows if ch is not None or st == "returned"]
            online = sum(1 for *_x, ch in rows if ch == "online")
            p = rules.participation(voted, areas)
            now = self.rt.case_clock(case).now()
            return {"round": rnd, "title": r.title, "deadline": r.deadline,
                    "open": r.deadline is not None and now < r.deadline, "online": online, **p.as_dict()}


class _Failed(Exception):
    def __init__(self, case_id: int | None, code: str) -> None:
        super().__init__(code)
        self.case_id, self.code = case_id, code
