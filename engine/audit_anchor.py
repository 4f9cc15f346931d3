"""Signed checkpoints: the audit history anchored outside the database.

A checkpoint is the Merkle root over the heads (chain, seq, row_hash) of all chains, signed with
the Ed25519 key of engine.audit_key. Written periodically (the worker and the serve timer thread)
and on demand (`hongwu audit checkpoint`), kept in `audit_checkpoint` and exportable as a small
JSON document for the district to keep. Verifying the database against a checkpoint names every
chain that is gone, every chain that lost events it had, and every anchored event rewritten;
together with the per-event seals and case state hashes (engine.audit) that covers deletion,
forgery, rewriting and backdating. Ids of audit_event are the global sequence across chains:
a checkpoint records the highest id and the number of events it covers.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine import audit
from engine.audit_key import public_key_from_hex, public_key_hex, signing_key
from engine.db.models import AuditCheckpoint, AuditEvent, Case

FORMAT = "hongwu-audit-checkpoint/1"
DEFAULT_INTERVAL = 3600.0  # seconds between periodic checkpoints (HONGWU_AUDIT_CHECKPOINT_INTERVAL)

# One statement, so the heads come from one snapshot even under READ COMMITTED.
_HEADS = text("""
    SELECT e.chain, e.seq, e.row_hash, e.id FROM audit_event e
    JOIN (SELECT chain, MAX(seq) AS seq FROM audit_event GROUP BY chain) h ON h.chain = e.chain AND h.seq = e.seq
    ORDER BY e.chain""")
_STATE_HEADS = text("""
    SELECT e.chain, e.seq, e.state_hash FROM audit_event e
    JOIN (SELECT chain, MAX(seq) AS seq FROM audit_event WHERE state_hash IS NOT NULL GROUP BY chain) h
      ON h.chain = e.chain AND h.seq = e.seq""")


def checkpoint_interval() -> float:
    return float(os.environ.get("HONGWU_AUDIT_CHECKPOINT_INTERVAL", DEFAULT_INTERVAL))


def _leaf(chain: str, seq: int, row_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + audit.canonical_json([chain, seq, row_hash]).encode("utf-8")).digest()


def merkle_root(heads: list[tuple[str, int, str]]) -> str:
    """Root over heads sorted by chain; leaves and inner nodes are domain-separated (0x00 / 0x01)
    and an odd node is carried up unchanged, so no two head lists share a root."""
    level = [_leaf(*h) for h in sorted(heads)]
    if not level:
        return hashlib.sha256(b"\x00").hexdigest()
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def write_checkpoint(session: Session, now: datetime, only_if_changed: bool = False) -> AuditCheckpoint | None:
    """Sign the current heads of all chains and store the checkpoint in the caller's transaction.
    With `only_if_changed`, nothing is written (None) when no event was added since the last one."""
    rows = session.execute(_HEADS).all()
    heads = [(r[0], int(r[1]), r[2]) for r in rows]
    last_id = max((int(r[3]) for r in rows), default=0)
    events = sum(seq for _c, seq, _h in heads)  # chains are contiguous from 1: the sum counts every event
    previous = latest(session)
    if only_if_changed and previous is not None and (previous.last_event_id, previous.events) == (last_id, events):
        return None
    key = signing_key()
    body = audit.canonical_json({
        "format": FORMAT, "created_at": audit._timestamp(now),
        "last_event_id": last_id, "events": events, "chains": len(heads), "merkle_root": merkle_root(heads),
        "previous": hashlib.sha256(previous.body.encode("utf-8")).hexdigest() if previous else None,
        "public_key": public_key_hex(key), "heads": [list(h) for h in heads],
    })
    cp = AuditCheckpoint(created_at=json.loads(body)["created_at"], last_event_id=last_id, events=events,
                         chains=len(heads), merkle_root=merkle_root(heads), body=body,
                         signature=key.sign(body.encode("utf-8")).hex(), public_key=public_key_hex(key))
    session.add(cp)
    session.flush()
    return cp


def export_document(cp: AuditCheckpoint) -> dict[str, Any]:
    """What the district keeps: the signed body verbatim, its signature and the public key."""
    return {"format": FORMAT, "body": cp.body, "signature": cp.signature, "public_key": cp.public_key}


@lru_cache(maxsize=4)
def _verified_body(body: str, signature: str, public_key: str) -> dict[str, Any] | None:
    """The parsed body of a checkpoint whose signature holds under `public_key` and whose Merkle
    root matches its heads, else None. Cached: checkpoints never change, and the body of a large
    installation (every chain's head) is megabytes of JSON."""
    try:
        public_key_from_hex(public_key).verify(bytes.fromhex(signature), body.encode("utf-8"))
        parsed = json.loads(body)
        heads = [(c, int(n), h) for c, n, h in parsed["heads"]]
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return None
    if merkle_root(heads) != parsed.get("merkle_root"):
        return None
    parsed["heads_by_chain"] = {c: (n, h) for c, n, h in heads}
    return parsed


_HEADS_BY_CHECKPOINT: dict[str, dict[str, tuple[int, str]]] = {}  # by signature: unique per body, per database


def anchored_heads(session: Session) -> dict[str, tuple[int, str]]:
    """{chain: (seq, row_hash)} of the latest checkpoint, if it is signed with our key (a
    checkpoint row someone wrote with another key anchors nothing). Called once per chain
    verified, so the (large) body is read only when a new checkpoint appears."""
    row = session.execute(select(AuditCheckpoint.id, AuditCheckpoint.signature, AuditCheckpoint.public_key)
                          .order_by(AuditCheckpoint.id.desc()).limit(1)).first()
    if row is None or row.public_key != public_key_hex():
        return {}
    heads = _HEADS_BY_CHECKPOINT.get(row.signature)
    if heads is None:
        cp = session.get_one(AuditCheckpoint, row.id)
        body = _verified_body(cp.body, cp.signature, cp.public_key)
        heads = body["heads_by_chain"] if body else {}
        if body:  # a row that fails is looked at again, and reported by verify_anchor
            if len(_HEADS_BY_CHECKPOINT) > 8:
                _HEADS_BY_CHECKPOINT.clear()
            _HEADS_BY_CHECKPOINT[row.signature] = heads
    return heads


@dataclass
class Problem:
    kind: str  # chain_missing | events_missing | rewritten | broken | state_edited | head_mismatch | case_missing | checkpoint
    message_zh: str
    message: str
    chain: str | None = None
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AnchorReport:
    checkpoint: dict[str, Any] | None  # created_at, events, chains, merkle_root, last_event_id
    chains: int = 0
    events: int = 0
    unanchored_events: int = 0  # added since the checkpoint (sealed, not yet signed over)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checkpoint": self.checkpoint, "chains": self.chains, "events": self.events,
                "unanchored_events": self.unanchored_events, "problems": [p.as_dict() for p in self.problems],
                "warnings": self.warnings}


def load_document(text_: str) -> dict[str, Any]:
    from engine.runtime.errors import ValidationFailed

    try:
        doc = json.loads(text_)
        if doc.get("format") != FORMAT or not all(isinstance(doc.get(k), str) for k in ("body", "signature", "public_key")):
            raise ValueError("not a checkpoint document")
        return doc
    except (ValueError, AttributeError) as exc:
        raise ValidationFailed(f"not a hongwu audit checkpoint: {exc}", "不是有效的审计检查点文件") from None


def _check_signature(doc: dict[str, Any], problems: list[Problem]) -> dict[str, Any] | None:
    """The signed body, if the signature holds under *our* key (a row written by someone with
    their own key must not pass)."""
    ours = public_key_hex()
    if doc["public_key"] != ours:
        problems.append(Problem("checkpoint", "检查点不是用本系统的审计密钥签名的", "checkpoint was not signed with this system's audit key"))
        return None
    body = _verified_body(doc["body"], doc["signature"], ours)
    if body is None:
        problems.append(Problem("checkpoint", "检查点签名无效（检查点被改动）", "checkpoint signature is invalid (it was altered)"))
    return body


def verify_anchor(session: Session, document: dict[str, Any] | None = None,
                  chain: str | list[str] | None = None) -> AnchorReport:
    """The database against a checkpoint (the latest stored one unless an exported `document` is
    given): every chain walked, every anchored head present and unchanged, every case's row equal
    to the state its last state-changing event recorded. Limited to some chains with `chain`
    (an auditor sees only the cases of their jurisdiction)."""
    only = [chain] if isinstance(chain, str) else chain
    problems: list[Problem] = []
    if document is None:
        cp = latest(session)
        document = export_document(cp) if cp is not None else None
    body = _check_signature(document, problems) if document is not None else None
    heads = body["heads_by_chain"] if body else {}
    wanted = only if only is not None else sorted(set(audit.chains(session)) | set(heads))
    report = AnchorReport({k: body[k] for k in ("created_at", "events", "chains", "merkle_root", "last_event_id")}
                          if body else None)
    chain_heads: dict[str, tuple[int, str]] = {}  # {chain: (seq, row_hash) of its last event}
    for name, events in _events_by_chain(session, wanted, only is None):
        if events:
            chain_heads[name] = (events[-1].seq, events[-1].row_hash)
        anchored_seq, anchored_hash = heads.get(name, (0, ""))
        report.chains += bool(events)
        report.events += len(events)
        report.unanchored_events += sum(1 for e in events if e.seq > anchored_seq)
        walk = audit.verify_events(name, events, anchored_seq)
        if not walk.ok:
            problems.append(Problem("broken", f"第 {walk.broken_seq} 条事件起链条断裂：{walk.reason}",
                                    f"chain broken at seq {walk.broken_seq}: {walk.reason}", name, walk.broken_seq))
        if not anchored_seq:
            continue
        if not events:
            problems.append(Problem("chain_missing", f"整条审计链被删除（检查点记录了 {anchored_seq} 条事件）",
                                    f"the whole chain is gone (the checkpoint holds {anchored_seq} events)", name))
            continue
        by_seq = {e.seq: e for e in events}
        if anchored_seq not in by_seq:
            have = max(by_seq)
            problems.append(Problem("events_missing", f"链尾事件缺失：检查点记录到第 {anchored_seq} 条，现仅到第 {have} 条",
                                    f"events {have + 1}–{anchored_seq} are missing", name, have + 1))
        elif not hmac.compare_digest(by_seq[anchored_seq].row_hash, anchored_hash):
            problems.append(Problem("rewritten", f"检查点之前的事件被改写：第 {anchored_seq} 条的哈希与检查点不符",
                                    f"anchored events were rewritten: seq {anchored_seq} no longer matches the checkpoint",
                                    name, anchored_seq))
    if body and only is None:
        # The global sequence: the events up to the checkpoint's last id can only have grown in
        # number (a transaction that committed late); fewer means some were deleted.
        have = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= body["last_event_id"]))
        if have < body["events"]:
            problems.append(Problem("events_missing", f"检查点覆盖的 {body['events']} 条事件中有 {body['events'] - have} 条已不在数据库中",
                                    f"{body['events'] - have} of the {body['events']} anchored events are gone"))
    _check_case_states(session, only, problems, chain_heads)
    report.problems = problems
    if document is None:
        report.warnings.append("尚无审计检查点：删除整条链或链尾事件尚无法发现（运行 hongwu audit checkpoint 写入）")
    return report


def _events_by_chain(session: Session, wanted: list[str], everything: bool):
    """(chain, its events in order) for each wanted chain, read in a few large queries rather than
    one per chain (an auditor's page may cover thousands of cases)."""
    found: dict[str, list[AuditEvent]] = {}
    batches: list[list[str] | None]
    if everything:
        batches = [None]
    else:
        batches = [wanted[i:i + 500] for i in range(0, len(wanted), 500)]
    for batch in batches:
        q = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)
        if batch is not None:
            q = q.where(AuditEvent.chain.in_(batch))
        for ev in session.scalars(q):
            found.setdefault(ev.chain, []).append(ev)
    for name in wanted:
        yield name, found.get(name, [])


def _check_case_states(session: Session, only: list[str] | None, problems: list[Problem],
                       chain_heads: dict[str, tuple[int, str]]) -> None:
    """Each case row must hold the state its chain's last state-changing event recorded, and the
    head of its chain (`chain_heads`: the last event of each chain walked)."""
    recorded = {r[0]: (int(r[1]), r[2]) for r in session.execute(_STATE_HEADS)}
    q = select(Case.case_number, Case.version, Case.status, Case.state, Case.audit_seq, Case.audit_head)
    if only is not None:
        q = q.where(Case.case_number.in_([c.removeprefix("case:") for c in only if c.startswith("case:")]))
    seen = set()
    for number, version, status, state, head_seq, head in session.execute(q):
        name = audit.case_chain(number)
        seen.add(name)
        last_seq, last_hash = chain_heads.get(name, (0, audit.GENESIS))
        if head_seq != last_seq or not hmac.compare_digest(head, last_hash):
            problems.append(Problem(
                "head_mismatch",
                f"案件 {number} 记录的审计链头（第 {head_seq} 条）与审计链（现到第 {last_seq} 条）不符"
                f"（链尾事件被删除、伪造，或案件记录被改动）",
                f"case {number}: its row's chain head (seq {head_seq}) does not match its chain (last seq {last_seq})",
                name, min(head_seq, last_seq) + 1))
        if name in recorded and not hmac.compare_digest(audit.case_state_hash(version, status, state), recorded[name][1]):
            problems.append(Problem("state_edited", f"案件 {number} 的当前状态与其审计记录不符（状态被直接改动）",
                                    f"case {number}: its state does not match its last recorded change", name, recorded[name][0]))
    for name, (seq, _h) in recorded.items():
        if name not in seen and (only is None or name in only):
            problems.append(Problem("case_missing", f"审计链 {name} 记录的案件已不在数据库中",
                                    f"the case of {name} is gone from the database", name, seq))


def checkpoint_if_due(session: Session, now: datetime, interval: float | None = None) -> AuditCheckpoint | None:
    """For the periodic writers: a new checkpoint when the last is older than `interval` seconds
    and events were added since."""
    interval = checkpoint_interval() if interval is None else interval
    last = session.scalar(select(func.max(AuditCheckpoint.created_at)))
    if last is not None and datetime.fromisoformat(last) > now - timedelta(seconds=interval):
        return None
    return write_checkpoint(session, now, only_if_changed=True)
