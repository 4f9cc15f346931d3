"""What auditors read: chains verified one by one and against the latest signed checkpoint, and a
case's raw events for export."""
from __future__ import annotations

from typing import Any

from engine import audit, audit_anchor
from engine.db.models import AuditEvent


def checkpoint_report(rt: Any, case_numbers: list[str]) -> tuple[dict[str, Any] | None, audit_anchor.AnchorReport]:
    """The latest checkpoint and these cases' chains checked against it (only these: chains of
    other jurisdictions are not named)."""
    with rt.uow() as s:
        cp = audit_anchor.latest(s)
        report = audit_anchor.verify_anchor(s, chain=[audit.case_chain(n) for n in case_numbers])
    info = None if cp is None else {"id": cp.id, "created_at": cp.created_at, "events": cp.events,
                                    "chains": cp.chains, "merkle_root": cp.merkle_root, "public_key": cp.public_key}
    return info, report


def verify_case_chains(rt: Any, case_numbers: list[str]) -> list[audit.ChainReport]:
    with rt.uow() as s:
        return [audit.verify(s, audit.case_chain(n))[0] for n in case_numbers]


def verify_case_chain(rt: Any, case_number: str) -> dict[str, Any]:
    """One case's chain recomputed, and checked against the latest signed checkpoint too: a
    deleted chain or tail is not "ok, 0 events"."""
    chain = audit.case_chain(case_number)
    with rt.uow() as s:
        report = audit.verify(s, chain)[0].as_dict()
        anchor = audit_anchor.verify_anchor(s, chain=chain)
    report["anchor_problems"] = [p.as_dict() for p in anchor.problems]
    report["checkpoint"] = anchor.checkpoint
    report["ok"] = report["ok"] and anchor.ok
    return report


def event_count(rt: Any, case_numbers: list[str]) -> int:
    """How many events the chains of these cases hold (to tell a bulk export from a small one)."""
    from sqlalchemy import func, select

    total = 0
    with rt.uow() as s:
        for i in range(0, len(case_numbers), 500):
            chains = [audit.case_chain(n) for n in case_numbers[i:i + 500]]
            total += s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.chain.in_(chains))) or 0
    return total


def case_events(rt: Any, case_number: str) -> list[AuditEvent]:
    """A case's chain as stored, in order (detached rows)."""
    with rt.uow() as s:
        return audit.chain_events(s, audit.case_chain(case_number))


def verify_chains(rt: Any, chain: str | None, checkpoint_document: Any = None
                  ) -> tuple[list[audit.ChainReport], audit_anchor.AnchorReport]:
    """Every chain (or one), recomputed and checked against a checkpoint (the latest stored one,
    or an exported document kept elsewhere)."""
    with rt.uow() as s:
        return audit.verify(s, chain), audit_anchor.verify_anchor(s, checkpoint_document, chain)


def latest_checkpoint(rt: Any) -> Any:
    with rt.uow() as s:
        return audit_anchor.latest(s)
