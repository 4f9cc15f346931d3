"""The ballot register inside a unit of work: rows written where ballots are issued, read for the
case page, and exported. The rules themselves are in engine.domain.voting; the units of work
with their permissions and audit events are in engine.voting.service."""
from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Case, Document, OrgUnit
from engine.db.vote_models import VoteBallot, VoteEntry, VoteRound
from engine.domain import voting as rules
from engine.domain.owner_roll import OwnerRoll
from engine.runtime.errors import ValidationFailed
from engine.settings_store import get_setting

from .credentials import FACTOR_ID, id_check

REGISTER_HEADERS = ("选票编号", "轮次", "业主编号", "业主姓名", "房号", "专有部分面积（平方米）", "状态", "送达方式",
                    "送达时间", "送达登记人", "回收时间", "回收登记人", "作废时间", "作废原因", "补发自", "表决渠道")


def second_factor(session: Session, case: Case | None) -> str:
    """The case's compound's choice of second factor for online voting, as it is now."""
    compound = session.get(OrgUnit, case.compound_id) if case is not None and case.compound_id else None
    return str(get_setting(session, rules.SECOND_FACTOR_KEY, compound, rules.default_second_factor()).value["factor"])


def ballot_owners(roll: OwnerRoll, factor: str) -> list[dict[str, Any]]:
    """The roll's owners as ballot pages. In an id_last6 round every owner but the developer must
    have an ID number on the roll (else they could not vote online); the developer's ballot is
    marked paper-only. Never the ID number itself: the page's data is stored with the document."""
    if factor == FACTOR_ID:
        missing = [o for o in roll.owners.values() if not o.id_number and not o.is_developer]
        if missing:
            names = "、".join(f"{o.name}（业主编号 {o.owner_id}）" for o in missing[:10])
            more = f"等{len(missing)}人" if len(missing) > 10 else ""
            raise ValidationFailed(
                f"{len(missing)} owner(s) have no ID number on the roll",
                f"本小区网上投票以身份证号后六位验证，业主名册须填写每位业主的居民身份证号码；缺少：{names}{more}",
                details=[{"field": "owner_roll", "message": f"owner {o.owner_id} has no ID number",
                          "message_zh": f"业主 {o.name}（业主编号 {o.owner_id}）缺少居民身份证号码"} for o in missing])
    return [{"owner_id": o.owner_id, "owner_name": o.name, "units": list(o.units), "area": format(o.area_m2, "f"),
             **({"paper_only": True} if factor == FACTOR_ID and not o.id_number else {})}
            for o in roll.owners.values()]


def open_round(session: Session, case: Case, rnd: int, *, title: str, items: list[str], labels: dict[str, str],
               deadline: datetime | None, now: datetime, threshold: str = "majority",
               seats: int | None = None, factor: str = "pin") -> VoteRound:
    """Record what the round's ballot asks; a round is opened once (a second issue of the same
    round keeps the first record: the ballot printed is the ballot counted)."""
    row = session.get(VoteRound, (case.id, rnd))
    if row is None:
        row = VoteRound(case_id=case.id, round=rnd, title=title, items=json.dumps(items, ensure_ascii=False),
                        labels=json.dumps(labels, ensure_ascii=False), threshold=threshold, seats=seats,
                        deadline=deadline, opened_at=now, second_factor=factor)
        session.add(row)
        session.flush()
    return row


def record_issued(session: Session, case: Case, documents: Iterable[Document], rnd: int, *, actor: str,
                  now: datetime, replaces: VoteBallot | None = None,
                  id_numbers: Mapping[str, str] | None = None) -> list[VoteBallot]:
    """One register row per ballot page of `documents` (their stored contexts hold each page's
    code and owner), in the caller's transaction, with one audit event for the batch. In an
    id_last6 round (opened before) `id_numbers` ({owner id: ID number}) gives each ballot its
    check; a reissue keeps the check of the ballot it replaces."""
    r = session.get(VoteRound, (case.id, rnd))
    by_id = r is not None and r.second_factor == FACTOR_ID  # a PIN round keeps nothing of the ID numbers
    checks = {o: id_check(o, n) for o, n in (id_numbers or {}).items() if n and by_id}
    rows: list[VoteBallot] = []
    for doc in documents:
        for b in json.loads(doc.context).get("ballots") or []:
            rows.append(VoteBallot(
                case_id=case.id, round=rnd, code=b["code"], owner_id=str(b.get("owner_id") or b["serial"]),
                owner_name=b.get("owner_name") or "", units="、".join(map(str, b.get("units") or [])),
                area=str(b.get("area") or "0"), serial=int(b["serial"]), document_id=doc.id, status="issued",
                issued_by=actor, issued_at=now, replaces_id=replaces.id if replaces is not None else None,
                id_check=replaces.id_check if replaces is not None else checks.get(str(b.get("owner_id") or ""))))
    session.add_all(rows)
    session.flush()
    if replaces is None:
        audit.append(session, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor,
                     action="vote:ballots_registered", now=now,
                     detail={"round": rnd, "ballots": len(rows),
                             "first_code": rows[0].code if rows else None, "last_code": rows[-1].code if rows else None})
    return rows


def ballots_of(session: Session, case_id: int, rnd: int | None = None) -> list[VoteBallot]:
    q = select(VoteBallot).where(VoteBallot.case_id == case_id)
    if rnd is not None:
        q = q.where(VoteBallot.round == rnd)
    return list(session.scalars(q.order_by(VoteBallot.round, VoteBallot.serial, VoteBallot.id)))


def latest_round(session: Session, case_id: int) -> int | None:
    return session.scalar(select(func.max(VoteRound.round)).where(VoteRound.case_id == case_id))


def counts(session: Session, case_id: int, rnd: int) -> rules.RegisterCounts:
    rows = session.execute(select(VoteBallot.status, VoteBallot.delivered_at.is_not(None))
                           .where(VoteBallot.case_id == case_id, VoteBallot.round == rnd)).all()
    return rules.register_counts([r[0] for r in rows], [bool(r[1]) for r in rows])


def voted(session: Session, ballot: VoteBallot) -> bool:
    """Has a vote been recorded on this ballot through any channel?"""
    if ballot.voted_channel:
        return True
    return bool(session.scalar(select(func.count()).select_from(VoteEntry).where(VoteEntry.ballot_id == ballot.id)))


def _at(dt: datetime | None) -> str:
    if dt is None:
        return ""
    from engine.domain.periods import CIVIL_TZ

    return dt.astimezone(CIVIL_TZ).strftime("%Y-%m-%d %H:%M")


def register_rows(session: Session, case_id: int) -> list[list[str]]:
    """The register as the export shows it (Chinese words, Beijing time)."""
    replaced = {b.id: b.code for b in session.scalars(select(VoteBallot).where(VoteBallot.case_id == case_id))}
    out = []
    for b in ballots_of(session, case_id):
        out.append([b.code, str(b.round), b.owner_id, b.owner_name, b.units, b.area, rules.STATUS_ZH[b.status],
                    rules.DELIVERY_CHANNELS.get(b.delivery_channel or "", ""), _at(b.delivered_at),
                    b.delivered_by or "", _at(b.returned_at), b.returned_by or "", _at(b.voided_at),
                    b.void_reason or "", replaced.get(b.replaces_id, "") if b.replaces_id else "",
                    rules.CHANNEL_ZH.get(b.voted_channel or "", "")])
    return out


def register_xlsx(session: Session, case: Case) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("选票登记簿")
    ws.append([f"{case.title}（{case.case_number}）选票登记簿"])
    ws.append(list(REGISTER_HEADERS))
    for row in register_rows(session, case.id):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
