"""Units of work of the vote: the register (delivery, return, void and reissue), the scrutineers
and their per-ballot entries. Each public method is one transaction that locks the case row
(its audit chain is appended to), checks who may act, applies a rule of engine.domain.voting
and writes the change with its audit event; a refusal rolls back and is then audited alone."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Case, Document, User
from engine.db.vote_models import VoteBallot, VoteEntry, VoteRound, VoteScrutineer
from engine.domain import voting as rules
from engine.runtime.actors import Actor
from engine.runtime.errors import (
    Conflict,
    Forbidden,
    HongwuError,
    NotFound,
    RuleRefused,
    ValidationFailed,
)
from engine.runtime.retries import with_retries
from engine.runtime.roles import READ_ONLY_ROLES

from . import register
from .credentials import FACTOR_ID

T = TypeVar("T")
VOTING_PROCESSES = ("committee_election", "prior_review")
# Who keeps the register (the preparatory group's lane is street staff; communities assist).
REGISTER_KEEPERS = frozenset({"street_staff", "community_staff"})
MAX_REASON = 500


def _refused(exc: rules.VoteRefused) -> RuleRefused:
    return RuleRefused(exc.message, exc.message_zh,
                       details=[{"field": exc.field or "", "message": exc.message, "message_zh": exc.message_zh}])


@dataclass
class BallotView:
    code: str
    round: int
    owner_id: str
    owner_name: str
    units: str
    area: str
    status: str
    status_zh: str
    items: list[str]
    labels: dict[str, str]
    state: str = "pending"
    state_zh: str = ""
    mine: bool = False  # has the viewer entered this ballot (and may correct it)
    set_aside: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class VoteService:
    """The vote's service layer, bound to a Runtime (its database, clock and refusal log)."""

    def __init__(self, runtime) -> None:
        self.rt = runtime

    # --- plumbing ---------------------------------------------------------------------------

    def _case(self, s: Session, case_number: str, actor: Actor, lock: bool = False) -> Case:
        q = select(Case).where(Case.case_number == case_number)
        if lock and s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update().execution_options(populate_existing=True)
        case = s.scalar(q)
        if case is None or not actor.covers(case.org_path) or case.process_key not in VOTING_PROCESSES:
            raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
        if lock and s.get_bind().dialect.name == "postgresql":
            audit.case_row_locked(s, case)  # locked: its chain head is current
        return case

    def _now(self, case: Case) -> datetime:
        return self.rt.case_clock(case).now()

    def _unit(self, case_number: str, actor: Actor, action: str, body: Callable[[Session, Case], T],
              lock: bool = True) -> T:
        """Run `body` in one transaction with the case row locked; audit a refusal on the case."""
        seen: dict[str, Any] = {}

        def unit() -> T:
            with self.rt.uow() as s:
                case = self._case(s, case_number, actor, lock=lock)
                seen["case"] = (case.id, case.case_number)
                return body(s, case)

        try:
            return with_retries(unit)
        except rules.VoteRefused as exc:
            err = _refused(exc)
            self._record(seen, actor, action, err)
            raise err from exc
        except (Forbidden, RuleRefused, Conflict) as exc:
            self._record(seen, actor, action, exc)
            raise
        except (NotFound, ValidationFailed) as exc:
            if "case" in seen and not isinstance(exc, ValidationFailed):
                self._record(seen, actor, action, exc)  # an unknown code inside a known case
            raise

    def _record(self, seen: dict, actor: Actor, action: str, err: HongwuError) -> None:
        if "case" in seen:
            case_id, number = seen["case"]
            self.rt.record_refusal(case_id, number, actor, f"vote:{action}", err)

    @staticmethod
    def _audit(s: Session, case: Case, actor: Actor, action: str, now: datetime, detail: dict) -> None:
        audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                     action=f"vote:{action}", now=now, detail=detail)

    @staticmethod
    def _keeper(actor: Actor) -> None:
        if actor.role not in REGISTER_KEEPERS:
            raise Forbidden(f"role {actor.role} may not keep the ballot register", "当前角色不能登记选票的送达、回收或作废")

    @staticmethod
    def _ballot(s: Session, case: Case, code: str, lock: bool = False) -> VoteBallot:
        code = (code or "").strip()
        q = select(VoteBallot).where(VoteBallot.code == code, VoteBallot.case_id == case.id)
        if lock and s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        b = s.scalar(q) if code else None
        if b is None:
            raise NotFound(f"no ballot {code!r} in this case", f"本案没有编号为「{code}」的选票")
        return b

    @staticmethod
    def _round(s: Session, case: Case, rnd: int) -> VoteRound:
        row = s.get(VoteRound, (case.id, rnd))
        if row is None:
            raise NotFound(f"round {rnd} has no ballots", f"第{rnd}轮尚未发放选票")
        return row

    @staticmethod
    def _reason(text: Any, what_zh: str) -> str:
        reason = str(text or "").strip()
        if not reason:
            raise ValidationFailed(f"{what_zh}: a reason is required", f"{what_zh}须说明理由",
                                   details=[{"field": "reason", "message": "reason required", "message_zh": "须填写理由"}])
        if len(reason) > MAX_REASON:
            raise ValidationFailed("reason too long", f"理由不超过{MAX_REASON}字",
                                   details=[{"field": "reason", "message": "too long", "message_zh": f"不超过{MAX_REASON}字"}])
        return reason

    # --- the register -------------------------------------------------------------------------

    def register_summary(self, case_number: str, actor: Actor) -> dict[str, Any]:
        """Counts per round for the case page (empty when no ballot was issued)."""
        with self.rt.uow() as s:
            case = self._case(s, case_number, actor)
            rounds = list(s.scalars(select(VoteRound).where(VoteRound.case_id == case.id).order_by(VoteRound.round)))
            out = []
            for r in rounds:
                c = register.counts(s, case.id, r.round)
                out.append({"round": r.round, "title": r.title,
                            "deadline": r.deadline.isoformat() if r.deadline else None, **c.as_dict()})
            return {"rounds": out, "scrutineers": self._scrutineer_names(s, case)}

    def register_rows(self, case_number: str, actor: Actor) -> list[list[str]]:
        with self.rt.uow() as s:
            case = self._case(s, case_number, actor)
            return register.register_rows(s, case.id)

    def register_xlsx(self, case_number: str, actor: Actor) -> bytes:
        with self.rt.uow() as s:
            case = self._case(s, case_number, actor)
            return register.register_xlsx(s, case)

    def deliver(self, case_number: str, code: str, channel: str, actor: Actor) -> dict:
        def body(s: Session, case: Case) -> dict:
            self._keeper(actor)
            b = self._ballot(s, case, code, lock=True)
            now = self._now(case)
            r = self._round(s, case, b.round)
            if r.deadline is not None and now >= r.deadline:
                raise rules.VoteRefused("voting has closed", "投票已截止，不能再登记送达")
            b.status = rules.next_status(b.status, "deliver", channel=channel)
            b.delivery_channel, b.delivered_by, b.delivered_at = channel, actor.username, now
            self._audit(s, case, actor, "ballot_delivered", now,
                        {"code": b.code, "owner_id": b.owner_id, "channel": channel,
                         "channel_zh": rules.DELIVERY_CHANNELS[channel]})
            return {"code": b.code, "status": b.status}
        return self._unit(case_number, actor, "ballot_delivered", body)

    def return_ballot(self, case_number: str, code: str, actor: Actor) -> dict:
        def body(s: Session, case: Case) -> dict:
            self._keeper(actor)
            b = self._ballot(s, case, code, lock=True)
            now = self._now(case)
            b.status = rules.next_status(b.status, "return")
            b.returned_by, b.returned_at = actor.username, now
            self._audit(s, case, actor, "ballot_returned", now, {"code": b.code, "owner_id": b.owner_id})
            return {"code": b.code, "status": b.status}
        return self._unit(case_number, actor, "ballot_returned", body)

    def void_and_reissue(self, case_number: str, code: str, reason: str, actor: Actor, reissue: bool = True) -> dict:
        """Void a ballot (lost, damaged, wrongly delivered) and, by default, print the owner a new
        one with a new code; the old code counts for nothing from then on."""
        def body(s: Session, case: Case) -> dict:
            self._keeper(actor)
            why = self._reason(reason, "作废选票")
            b = self._ballot(s, case, code, lock=True)
            now = self._now(case)
            r = self._round(s, case, b.round)
            if reissue and r.deadline is not None and now >= r.deadline:
                raise rules.VoteRefused("voting has closed", "投票已截止，不能再补发选票")
            b.status = rules.next_status(b.status, "void", voted=register.voted(s, b))
            b.voided_by, b.voided_at, b.void_reason = actor.username, now, why
            self._audit(s, case, actor, "ballot_voided", now, {"code": b.code, "owner_id": b.owner_id, "reason": why})
            new = self._reissue(s, case, b, actor, now) if reissue else None
            if new is not None:
                self._audit(s, case, actor, "ballot_reissued", now,
                            {"code": new.code, "replaces": b.code, "owner_id": b.owner_id,
                             "document_id": new.document_id})
            return {"voided": b.code, "reissued": new.code if new is not None else None,
                    "document_id": new.document_id if new is not None else None}
        return self._unit(case_number, actor, "ballot_voided", body)

    def _reissue(self, s: Session, case: Case, old: VoteBallot, actor: Actor, now: datetime) -> VoteBallot:
        from engine.notices.ballots import issue_ballots

        doc = s.get(Document, old.document_id) if old.document_id else None
        if doc is None:
            raise rules.VoteRefused("the ballot's document is missing", "找不到原选票文书，无法补发")
        stored = json.loads(doc.context)
        keep = ("compound_name", "mode", "vote_title", "items", "instructions", "deadline", "ballot_box",
                "second_factor")
        context = {k: stored[k] for k in keep if stored.get(k) is not None}
        context["title"] = f"{stored.get('title', '')}（补发，原票{old.code}作废）"
        owner = {"owner_id": old.owner_id, "owner_name": old.owner_name,
                 "units": old.units.split("、") if old.units else [], "area": old.area, "serial": old.serial,
                 **({"paper_only": True} if context.get("second_factor") == FACTOR_ID and not old.id_check else {})}
        run = issue_ballots(s, context=context, owners=[owner], actor=actor.username, now=now,
                            settings=self.rt.settings, case=case, workers=1)
        return register.record_issued(s, case, run.documents, old.round, actor=actor.username, now=now,
                                      replaces=old)[0]

    # --- scrutineers --------------------------------------------------------------------------

    @staticmethod
    def _scrutineer_names(s: Session, case: Case) -> list[dict]:
        rows = s.execute(select(VoteScrutineer.username, User.display_name)
                         .outerjoin(User, User.username == VoteScrutineer.username)
                         .where(VoteScrutineer.case_id == case.id).order_by(VoteScrutineer.designated_at)).all()
        return [{"username": u, "name": n or u} for u, n in rows]

    def designate_scrutineer(self, case_number: str, username: str, actor: Actor) -> dict:
        """Name a user 监票、计票人 of the case (one of the people entering its paper ballots)."""
        def body(s: Session, case: Case) -> dict:
            self._keeper(actor)
            user = s.scalar(select(User).where(User.username == (username or "").strip(), User.active.is_(True)))
            if user is None:
                raise ValidationFailed(f"unknown or inactive user {username!r}", f"用户「{username}」不存在或已停用",
                                       details=[{"field": "username", "message": "unknown user", "message_zh": "用户不存在"}])
            if user.role in READ_ONLY_ROLES:
                raise rules.VoteRefused("a read-only user cannot be a scrutineer", "只读角色（审计/纪检）不能担任监票、计票人",
                                        "username")
            if s.get(VoteScrutineer, (case.id, user.username)) is not None:
                raise rules.VoteRefused("already a scrutineer", f"{user.display_name}已是本案监票、计票人", "username")
            now = self._now(case)
            s.add(VoteScrutineer(case_id=case.id, username=user.username, designated_by=actor.username,
                                 designated_at=now))
            self._audit(s, case, actor, "scrutineer_designated", now,
                        {"username": user.username, "name": user.display_name})
            return {"username": user.username, "name": user.display_name}
        return self._unit(case_number, actor, "scrutineer_designated", body)

    def is_scrutineer(self, case_number: str, actor: Actor) -> bool:
        with self.rt.uow() as s:
            case = self._case(s, case_number, actor)
            return s.get(VoteScrutineer, (case.id, actor.username)) is not None

    @staticmethod
    def _must_scrutinise(s: Session, case: Case, actor: Actor) -> None:
        if s.get(VoteScrutineer, (case.id, actor.username)) is None:
            raise Forbidden("only the case's scrutineers enter ballots", "您不是本案的监票、计票人，不能录入选票")

    # --- per-ballot entry ---------------------------------------------------------------------

    @staticmethod
    def _entries(s: Session, ballot: VoteBallot) -> list[VoteEntry]:
        return list(s.scalars(select(VoteEntry).where(VoteEntry.ballot_id == ballot.id).order_by(VoteEntry.id)))

    @staticmethod
    def _domain_entries(rows: list[VoteEntry]) -> list[rules.Entry]:
        out = []
        for e in rows:
            if e.set_aside:
                continue
            r = json.loads(e.reading)
            out.append(rules.Entry(e.scrutineer, rules.Reading.of(r.get("marks"), r.get("invalid")), e.id, e.superseded))
        return out

    def _view(self, s: Session, case: Case, b: VoteBallot, actor: Actor) -> BallotView:
        r = self._round(s, case, b.round)
        rows = self._entries(s, b)
        rec = rules.reconcile(self._domain_entries(rows))
        set_aside = b.voted_channel == "online"
        return BallotView(b.code, b.round, b.owner_id, b.owner_name, b.units, b.area, b.status,
                          rules.STATUS_ZH[b.status], json.loads(r.items), json.loads(r.labels), rec.state,
                          "网上已投票，纸质票作为重复票另列" if set_aside else rules.RECONCILE_ZH[rec.state],
                          any(e.scrutineer == actor.username and not e.superseded for e in rows), set_aside)

    def ballot_for_entry(self, case_number: str, code: str, actor: Actor) -> BallotView:
        """The ballot a scrutineer is about to enter (its items, never another's reading)."""
        def body(s: Session, case: Case) -> BallotView:
            self._must_scrutinise(s, case, actor)
            b = self._ballot(s, case, code)
            if b.status == "void":
                raise rules.VoteRefused("the ballot is void", f"选票「{b.code}」已作废，不予录入")
            return self._view(s, case, b, actor)
        return self._unit(case_number, actor, "ballot_looked_up", body, lock=False)

    def enter(self, case_number: str, code: str, actor: Actor, marks: dict | None = None,
              invalid: str | None = None, correction_reason: str | None = None, source: str = "page") -> BallotView:
        """One scrutineer's reading of one paper ballot (or their correction of it, with a reason)."""
        def body(s: Session, case: Case) -> BallotView:
            self._must_scrutinise(s, case, actor)
            return self._enter(s, case, actor, code, marks, invalid, correction_reason, source)
        return self._unit(case_number, actor, "ballot_entered", body)

    def _enter(self, s: Session, case: Case, actor: Actor, code: str, marks: dict | None, invalid: str | None,
               correction_reason: str | None, source: str) -> BallotView:
        b = self._ballot(s, case, code, lock=True)
        if b.status == "void":
            raise rules.VoteRefused("the ballot is void", f"选票「{b.code}」已作废，不予录入")
        r = self._round(s, case, b.round)
        now = self._now(case)
        if r.deadline is not None and now < r.deadline:
            raise rules.VoteRefused("ballots are entered after voting closes",
                                    "投票截止后方可开票录入（截止前不得产生任何计票结果）")
        if marks is not None and not isinstance(marks, dict):
            raise rules.VoteRefused("marks must be an object", "表决意见格式不正确", "marks")
        reading = rules.check_reading(marks, invalid, json.loads(r.items))
        rows = self._entries(s, b)
        set_aside = b.voted_channel == "online"
        replaced_id = None
        if correction_reason is not None:
            reason = self._reason(correction_reason, "更正录入")
            own = [e for e in rows if e.scrutineer == actor.username and not e.superseded]
            if not own:
                raise rules.VoteRefused("nothing of yours to correct", "您尚未录入该选票，无需更正", "correction_reason")
            own[-1].superseded = True
            replaced_id = own[-1].id
        else:
            reason = None
            if set_aside:
                if any(e.scrutineer == actor.username for e in rows):
                    raise rules.VoteRefused("already entered", "同一监票计票人不能重复录入同一张选票")
            else:
                rules.check_entry(self._domain_entries(rows), actor.username)
        if b.voted_channel is None:
            b.voted_channel, b.voted_at = "paper", now
        if b.status != "returned":  # a ballot in the scrutineers' hands was handed in
            b.status, b.returned_by, b.returned_at = "returned", actor.username, now
        entry = VoteEntry(case_id=case.id, ballot_id=b.id, scrutineer=actor.username,
                          reading=json.dumps(reading.as_dict(), ensure_ascii=False, sort_keys=True), source=source,
                          entered_at=now, superseded=False, correction_of=replaced_id, correction_reason=reason,
                          set_aside=set_aside)
        s.add(entry)
        s.flush()
        view = self._view(s, case, b, actor)
        action = "entry_corrected" if replaced_id else "ballot_set_aside" if set_aside else "ballot_entered"
        self._audit(s, case, actor, action, now,
                    {"code": b.code, "owner_id": b.owner_id, "reading": reading.as_dict(), "source": source,
                     "state": view.state, **({"reason": reason, "replaces_entry": replaced_id} if replaced_id else {}),
                     **({"first_channel": "online"} if set_aside else {})})
        return view

    def enter_sheet(self, case_number: str, data: bytes, filename: str, actor: Actor) -> dict:
        """Bulk entry from a sheet: every ballot of it goes through the per-ballot entry (same
        scrutineer rules, same audit events, source "csv"); one problem anywhere and nothing is
        stored, every problem listed with its line."""
        sheet, problems = rules.read_entry_sheet(data, filename)
        if problems:
            raise ValidationFailed("the entry sheet has problems", "；".join(p.message_zh for p in problems[:20]),
                                   details=[p.as_detail() for p in problems])
        if not sheet:
            raise ValidationFailed("the entry sheet has no ballots", "录入文件中没有选票")

        def body(s: Session, case: Case) -> dict:
            self._must_scrutinise(s, case, actor)
            states: dict[str, int] = {}
            failures = []
            for b in sheet:
                try:  # the checks come before any write; one refusal rolls the whole sheet back
                    view = self._enter(s, case, actor, b.code, None if b.invalid else b.marks, b.invalid, None, "csv")
                    states[view.state] = states.get(view.state, 0) + 1
                except (rules.VoteRefused, NotFound) as exc:
                    failures.append({"field": f"{filename}:{b.line}", "message": f"{b.code}: {getattr(exc, 'message', exc)}",
                                     "message_zh": f"第{b.line}行 选票 {b.code}：{exc.message_zh}"})
            if failures:
                raise ValidationFailed("some ballots of the sheet were refused",
                                       "；".join(f["message_zh"] for f in failures[:20]), details=failures)
            return {"ballots": len(sheet), "states": states}
        return self._unit(case_number, actor, "sheet_entered", body)

    def entry_progress(self, case_number: str, actor: Actor, rnd: int | None = None) -> dict:
        """How many ballots of the round are settled, waiting for a second entry, or in mismatch
        (codes only — no figures)."""
        with self.rt.uow() as s:
            case = self._case(s, case_number, actor)
            rnd = rnd or register.latest_round(s, case.id)
            if rnd is None:
                return {"round": None, "states": {}, "mismatch": []}
            ballots = {b.id: b for b in register.ballots_of(s, case.id, rnd) if b.status != "void"}
            by_ballot: dict[int, list[VoteEntry]] = {}
            for e in s.scalars(select(VoteEntry).where(VoteEntry.case_id == case.id)):
                if e.ballot_id in ballots:
                    by_ballot.setdefault(e.ballot_id, []).append(e)
            states: dict[str, int] = {k: 0 for k in rules.RECONCILE_ZH}
            mismatch = []
            for bid, b in ballots.items():
                if bid not in by_ballot:
                    continue
                st = rules.reconcile(self._domain_entries(by_ballot[bid])).state
                states[st] += 1
                if st == "mismatch":
                    mismatch.append(b.code)
            return {"round": rnd, "states": states, "mismatch": sorted(mismatch)}
