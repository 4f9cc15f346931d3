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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine.audit_key import seal_key
from engine.db.models import AuditEvent, Case  # AuditEvent is re-exported for callers too
from engine.errors import Conflict

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
_CASE_HEAD = select(Case.audit_seq, Case.audit_head).where(Case.id == bindparam("case_id"))
_CASE_ID = select(Case.id).where(Case.case_number == bindparam("number"))
# session.info key: {case id: CaseRow}, the case rows this transaction changes (see CaseRow).
CASE_ROWS = "hongwu.audit.case_rows"

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


CASE_CHAIN_PREFIX = "case:"


def case_chain(case_number: str) -> str:
    return f"{CASE_CHAIN_PREFIX}{case_number}"


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


@dataclass
class CaseRow:
    """What one transaction changes on a case row: the save's columns (state, version, …) and the
    head of the case's chain after its appends, written together by one UPDATE (`write_case_rows`)
    guarded by the version and head the transaction started from: a concurrent writer is refused.

    `base_seq` is the head as read from the row (None: not read yet); `seq`/`head` the head after
    this transaction's appends. Once the save's columns are staged, the case's events appended
    after them (`events`) and the statements staged `along` (the search text) go with that UPDATE:
    on PostgreSQL in the same statement (as WITH clauses), one round trip for all of them."""

    case_id: int
    case_number: str | None = None
    base_seq: int | None = None
    seq: int = 0
    head: str = GENESIS
    values: dict[str, Any] = field(default_factory=dict)
    expected_version: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    along: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return (bool(self.values) or bool(self.events) or bool(self.along)
                or (self.base_seq is not None and self.seq != self.base_seq))


def _case_rows(session: Session) -> dict[int, CaseRow]:
    return session.info.setdefault(CASE_ROWS, {})


def _case_row(session: Session, case_id: int, case_number: str | None) -> CaseRow:
    """This transaction's CaseRow of the case, made on first use."""
    rows = _case_rows(session)
    row = rows.get(case_id)
    if row is None:
        row = rows[case_id] = CaseRow(case_id, case_number)
    return row


def case_row_locked(session: Session, case: Case) -> None:
    """`case` was just read under a row lock in this transaction (FOR UPDATE on PostgreSQL), so
    its chain head is current: appends start from it without reading it again."""
    row = _case_row(session, case.id, case.case_number)
    if row.base_seq is None:
        row.base_seq = row.seq = case.audit_seq
        row.head = case.audit_head


def stage_case_write(session: Session, case: Case, values: dict[str, Any], expected_version: int | None) -> None:
    """Columns of `case` to write at the end of the transaction, with the chain head, by one UPDATE
    (where the version is still `expected_version`, when given). The ORM object holds them now."""
    row = _case_row(session, case.id, case.case_number)
    row.case_number = case.case_number
    if row.expected_version is None:
        row.expected_version = expected_version
    row.values.update(values)
    for k, v in values.items():
        set_committed_value(case, k, v)


def write_along(session: Session, case: Case, key: str, statement: Any, params: dict[str, Any]) -> None:
    """Send `statement` (built once, its bind names its own) with `case`'s row UPDATE at the end of
    the change; a later one under the same `key` replaces it."""
    row = _case_row(session, case.id, case.case_number)
    row.along[key] = (statement, params)


def _chain_position(session: Session, chain: str, case_id: int | None) -> tuple[CaseRow | None, int, str]:
    """(the case row that keeps the chain's head, if a case chain; next seq; prev hash)."""
    conn = session.connection()
    if chain.startswith(CASE_CHAIN_PREFIX):
        number = chain[len(CASE_CHAIN_PREFIX):]
        if case_id is None:
            case_id = conn.execute(_CASE_ID, {"number": number}).scalar()
        if case_id is not None:
            row = _case_row(session, case_id, number)
            if row.base_seq is None:
                found = conn.execute(_CASE_HEAD, {"case_id": case_id}).first()
                if found is not None:
                    row.base_seq = row.seq = found[0]
                    row.head = found[1]
            if row.base_seq is not None:
                return row, row.seq + 1, row.head
    last = conn.execute(_CHAIN_HEAD, {"chain": chain}).first()
    return None, (last[0] + 1 if last else 1), (last[1] if last else GENESIS)


def append(session: Session, *, chain: str, actor: str, action: str, now: datetime,
           case_id: int | None = None, task_id: str | None = None, task_name: str | None = None,
           before: Any = None, after: Any = None, detail: Any = None) -> AuditEvent:
    """Add one event to `chain` inside the caller's transaction. A case chain's head is read from
    (and written back to, at the end of the transaction) its case row."""
    conn = session.connection()  # Core on the session's connection: no ORM overhead per statement
    case_row, seq, prev = _chain_position(session, chain, case_id)
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
    if case_row is not None and case_row.values:
        # The case's change is staged: the event is inserted with its UPDATE (nothing reads the
        # chain between; the unique (chain, seq) still refuses a taken position then).
        case_row.events.append({c: getattr(ev, c) for c in _COLUMNS})
    else:
        conn.execute(_INSERT, {c: getattr(ev, c) for c in _COLUMNS})
    if case_row is not None:
        case_row.seq, case_row.head = seq, ev.row_hash
    for listener in _LISTENERS:
        listener(session, ev)
    return ev


_UPDATES: dict[tuple[tuple[str, ...], bool, bool], Any] = {}  # built once per shape (see _CHAIN_HEAD)


def _case_update(columns: tuple[str, ...], check_version: bool, check_head: bool):
    key = (columns, check_version, check_head)
    stmt = _UPDATES.get(key)
    if stmt is None:
        where = [Case.id == bindparam("case_id")]
        if check_version:
            where.append(Case.version == bindparam("expected_version"))
        if check_head:
            where.append(Case.audit_seq == bindparam("base_seq"))
        stmt = _UPDATES[key] = (update(Case).where(*where).values({c: bindparam(c) for c in columns})
                                .execution_options(synchronize_session=False))
    return stmt


# One event with bind names of its own, to go inside the case row's UPDATE. (A multi-row VALUES
# can't be cached by SQLAlchemy, and separate WITH clauses run in no set order: several events
# are inserted in one executemany just before the UPDATE instead, ids following seq.)
_EVENT_ALONG = _INSERT.values({c: bindparam(f"e0_{c}") for c in _COLUMNS})


_WITH: dict[tuple[Any, ...], Any] = {}  # UPDATE … with its WITH clauses, built once per shape


def _update_with(update_stmt, key: tuple[Any, ...], along: list[Any]):
    stmt = _WITH.get(key)
    if stmt is None:
        stmt = _WITH[key] = update_stmt.add_cte(*[a.cte(f"along_{i}") for i, a in enumerate(along)])
    return stmt


def write_case_rows(session: Session) -> None:
    """Write what this transaction changed on case rows, one UPDATE per case: the saved columns and
    the chain head, where the version and the head are still those it started from, with the
    events and statements staged to go along. Called at the end of a change (and by every commit,
    for whatever is left); refuses a case changed meanwhile."""
    rows = session.info.get(CASE_ROWS)
    if not rows:
        return
    conn = session.connection()
    for row in rows.values():
        if not row.pending:
            continue
        along = list(row.along.values())
        if len(row.events) == 1:
            along.append((_EVENT_ALONG, {f"e0_{c}": v for c, v in row.events[0].items()}))
        elif row.events:
            conn.execute(_INSERT, row.events)
        values = dict(row.values)
        check_head = row.base_seq is not None
        if check_head and row.seq != row.base_seq:
            values["audit_seq"], values["audit_head"] = row.seq, row.head
        if values:
            params = {"case_id": row.case_id, "expected_version": row.expected_version, "base_seq": row.base_seq}
            stmt = _case_update(tuple(sorted(values)), row.expected_version is not None, check_head)
            if along and conn.dialect.name == "postgresql":
                stmt = _update_with(stmt, (stmt, *(a[0] for a in along)), [a[0] for a in along])
                for _a, a_params in along:
                    params.update(a_params)
            else:
                for a_stmt, a_params in along:
                    conn.execute(a_stmt, a_params)
            params.update(values)
            if conn.execute(stmt, params).rowcount != 1:
                raise Conflict(f"case {row.case_number} was changed by someone else first",
                               f"案件 {row.case_number} 已被他人更新，请刷新后重试")
        else:
            for a_stmt, a_params in along:
                conn.execute(a_stmt, a_params)
        case = session.identity_map.get(identity_key(Case, row.case_id))
        if case is not None and check_head:
            set_committed_value(case, "audit_seq", row.seq)
            set_committed_value(case, "audit_head", row.head)
        row.values, row.expected_version, row.base_seq = {}, None, row.seq if check_head else None
        row.events, row.along = [], {}


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    write_case_rows(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_case_rows(session: Session) -> None:
    session.info.pop(CASE_ROWS, None)


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
