"""Tamper-evident history: one hash chain per case (`case:<number>`) and per other subject.

row_hash = sha256(prev_hash || canonical JSON of the event), the first prev_hash being 64 zeros.
Events are appended in the same transaction as the change they describe; the table refuses
UPDATE and DELETE by trigger. `verify` re-walks chains from the columns themselves, so a changed
column, a removed row or a reordered row all show as a broken link.

What the database alone can't show (someone with write access deleting a chain's last events or
a whole chain, or rewriting and rehashing a chain's tail) is anchored outside it:
- every event carries a seal, an HMAC of its row_hash under a key derived from the audit signing
  key (a file outside the database, see engine.audit_key), so a rehashed or forged row shows;
- events that change a case carry `state_hash`, the hash of the case row right after the change,
  so editing a case's state in place shows;
- `engine.audit_anchor` rolls the heads of all chains into an Ed25519-signed checkpoint.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.audit_key import seal_key
from engine.db.models import AuditEvent  # noqa: F401 - re-exported for callers

GENESIS = "0" * 64
_COLUMNS = ("chain", "seq", "case_id", "actor", "action", "task_id", "task_name", "data_before", "data_after",
            "detail", "created_at", "prev_hash", "row_hash", "state_hash", "seal")
EXPORT_FIELDS = ("id", "chain", "seq", "case_id", "actor", "action", "task_id", "task_name",
                 "data_before", "data_after", "detail", "created_at", "prev_hash", "row_hash", "state_hash", "seal")
# session.info key: {case id: state hash} of the cases saved in the session's transaction.
SAVED_CASE_STATES = "hongwu.audit.case_states"


# Built once: constructing SQLAlchemy statements costs more than running them on the hot path.
_CHAIN_HEAD = (select(AuditEvent.seq, AuditEvent.row_hash).where(AuditEvent.chain == bindparam("chain"))
               .order_by(AuditEvent.seq.desc()).limit(1))
_INSERT = cast(Table, AuditEvent.__table__).insert()  # a Core insert; __table__ is typed as a FromClause

# Called with (session, event) after each append, inside the same transaction: what they write
# (notifications) commits or rolls back with the event. Kept cheap: they run on every append.
Listener = Callable[[Session, AuditEvent], None]
_LISTENERS: list[Listener] = []


def add_listener(listener: Listener) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def case_chain(case_number: str) -> str:
    return f"case:{case_number}"


def _payload(ev: AuditEvent | Row[Any]) -> dict[str, Any]:
    payload = {
        "chain": ev.chain, "seq": ev.seq, "case_id": ev.case_id, "actor": ev.actor,
        "action": ev.action, "task_id": ev.task_id, "task_name": ev.task_name,
        "data_before": ev.data_before, "data_after": ev.data_after, "detail": ev.detail,
        "created_at": ev.created_at,
    }
    if ev.state_hash is not None:  # absent from older events, whose hashes stay as they were
        payload["state_hash"] = ev.state_hash
    return payload


def case_state_hash(version: int, status: str, state: str) -> str:
    """The hash of a case row's state as an event records it."""
    return hashlib.sha256(f"{version}\x1f{status}\x1f".encode() + state.encode("utf-8")).hexdigest()


def note_case_state(session: Session, case_id: int, version: int, status: str, state: str) -> None:
    """Called by the save of a case: the events appended after it in this transaction record it."""
    session.info.setdefault(SAVED_CASE_STATES, {})[case_id] = case_state_hash(version, status, state)


def compute_hash(prev_hash: str, ev: AuditEvent | Row[Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(_payload(ev))).encode("utf-8")).hexdigest()


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="microseconds")


def append(session: Session, *, chain: str, actor: str, action: str, now: datetime,
           case_id: int | None = None, task_id: str | None = None, task_name: str | None = None,
           before: Any = None, after: Any = None, detail: Any = None) -> AuditEvent:
    """Add one event to `chain` inside the caller's transaction."""
    conn = session.connection()  # Core on the session's connection: no ORM overhead per statement
    last = conn.execute(_CHAIN_HEAD, {"chain": chain}).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ev = AuditEvent(
        chain=chain, seq=seq, case_id=case_id, actor=actor, action=action, task_id=task_id,
        task_name=task_name,
        data_before=None if before is None else canonical_json(before),
        data_after=None if after is None else canonical_json(after),
        detail=None if detail is None else (detail if isinstance(detail, str) else canonical_json(detail)),
        created_at=_timestamp(now), prev_hash=prev,
        state_hash=session.info.get(SAVED_CASE_STATES, {}).get(case_id) if case_id is not None else None,
    )
    ev.row_hash = compute_hash(prev, ev)
    ev.seal = seal(ev.row_hash)
    # A Core insert: events are never read back through this session, and the ORM's flush
    # machinery costs more than the insert itself on the hot path.
    conn.execute(_INSERT, {c: getattr(ev, c) for c in _COLUMNS})
    for listener in _LISTENERS:
        listener(session, ev)
    return ev


def seal(row_hash: str) -> str:
    return hmac.new(seal_key(), row_hash.encode("ascii"), hashlib.sha256).hexdigest()


def append_alone(session_factory, retries: int = 5, lock=None, **kwargs) -> None:
    """Append in a transaction of its own (refused attempts, whose own transaction rolled back).

    `lock(session)` is called first: for a case chain it locks the case row, so that the refusal
    queues behind a change in flight instead of taking the chain position that change is about to
    write. Two writers that still race for a position: the loser retries on the next one."""
    for attempt in range(retries):
        session = session_factory()
        try:
            if lock is not None:
                lock(session)
            append(session, **kwargs)
            session.commit()
            return
        except IntegrityError:
            session.rollback()
            if attempt == retries - 1:
                raise
        finally:
            session.close()


@dataclass
class ChainReport:
    chain: str
    events: int
    ok: bool
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def verify_events(chain: str, events: Iterable[AuditEvent | Row[Any]], anchored_seq: int = 0) -> ChainReport:
    """Walk one chain. Events up to `anchored_seq` are covered by a signed checkpoint and may be
    unsealed (written before seals existed); later ones must carry a valid seal. `events` are ORM
    events, or the table's plain rows when every chain is streamed."""
    prev, expected_seq, count = GENESIS, 1, 0
    for ev in events:
        count += 1
        reason = None
        if ev.seq != expected_seq:
            reason = f"sequence gap: expected {expected_seq}, found {ev.seq}"
        elif ev.prev_hash != prev:
            reason = "prev_hash does not match the previous event's row_hash"
        elif compute_hash(prev, ev) != ev.row_hash:
            reason = "row_hash does not match the event's content (the row was changed)"
        elif ev.seal is None and ev.seq > anchored_seq:
            reason = "the event carries no seal and no checkpoint covers it (written without the key)"
        elif ev.seal is not None and not hmac.compare_digest(seal(ev.row_hash), ev.seal):
            reason = "the seal does not match (the row was rehashed or written without the key)"
        if reason:
            return ChainReport(chain, count, False, ev.id, ev.seq, reason)
        prev, expected_seq = ev.row_hash, expected_seq + 1
    return ChainReport(chain, count, True)


def chains(session: Session, case_chain_name: str | None = None) -> list[str]:
    if case_chain_name:
        return [case_chain_name]
    return list(session.scalars(select(AuditEvent.chain).distinct().order_by(AuditEvent.chain)))


def chain_events(session: Session, chain: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)))


def verify(session: Session, chain: str | None = None) -> list[ChainReport]:
    """Every chain (or one) walked link by link; see `engine.audit_anchor.verify_anchor` for what
    the latest checkpoint adds (missing chains and events, rewritten tails, edited case state)."""
    from engine.audit_anchor import anchored_heads

    if chain is None:
        return list(verify_all_streamed(session))
    heads = anchored_heads(session)
    return [verify_events(c, chain_events(session, c), heads.get(c, (0, ""))[0]) for c in chains(session, chain)]


def verify_all_streamed(session: Session, batch: int = 5000) -> Iterator[ChainReport]:
    """Every chain, one report at a time, from one pass over the events in (chain, seq) order
    (the unique index): memory stays that of one batch of rows whatever the table's size, where
    `verify` lists every chain and then reads each with a query of its own."""
    from itertools import groupby

    from engine.audit_anchor import anchored_heads

    heads = anchored_heads(session)
    rows = session.execute(select(AuditEvent.__table__).order_by(AuditEvent.chain, AuditEvent.seq),
                           execution_options={"yield_per": batch, "stream_results": True})
    for chain, events in groupby(rows, key=lambda r: r.chain):
        yield verify_events(chain, events, heads.get(chain, (0, ""))[0])


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    return {f: getattr(ev, f) for f in EXPORT_FIELDS}


def export_jsonl(events: Iterable[AuditEvent]) -> Iterator[str]:
    for ev in events:
        yield canonical_json(event_dict(ev)) + "\n"


def export_csv(events: Iterable[AuditEvent]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    yield buf.getvalue()
    for ev in events:
        buf.seek(0)
        buf.truncate()
        writer.writerow(event_dict(ev))
        yield buf.getvalue()
