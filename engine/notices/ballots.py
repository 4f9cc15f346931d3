"""Ballots for a whole compound in one job: one page per owner, rendered in chunks.

Each chunk of `chunk_size` owners is one stored, verifiable document (kind "ballot"); a ballot's
code is "<document code>-<serial>", its serial the owner's place in the roll, so a scanned ballot
leads back to its batch. Chunks keep WeasyPrint's memory bounded (a layout holds every page of
its document), and independent chunks render in parallel worker processes: on a 2-core machine a
2,000-owner compound takes well under a minute instead of minutes. The database work (codes,
rows) stays in the calling process and its unit of work.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db.models import Case, Document
from engine.runtime.errors import ValidationFailed

from .ballot_pages import _render_chunk, _warm, render_ballots, static_layer  # noqa: F401  (re-exported)
from .kinds import get_kind
from .service import _unique_code, prepare_context, store_document

CHUNK_SIZE = 100
Progress = Callable[[int, int], None]  # (ballots done, ballots total)


@dataclass
class BallotRun:
    documents: list[Document]
    ballots: int

    def as_dict(self) -> dict:
        return {"ballots": self.ballots, "documents": [
            {"document_id": d.id, "verification_code": d.verification_code, "sha256": d.sha256,
             "title": d.title, "pages": d.pages} for d in self.documents]}


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _chunks(owners: list, size: int) -> Iterator[tuple[int, list]]:
    for start in range(0, len(owners), size):
        yield start, owners[start:start + size]


def issue_ballots(session: Session, *, context: dict, owners: list[dict], actor: str, now: datetime,
                  settings: Settings, case: Case | None = None, chunk_size: int = CHUNK_SIZE,
                  workers: int | None = None, progress: Progress | None = None) -> BallotRun:
    """Render one ballot page per owner ({owner_name, units, area[, owner_id]}) and store one
    document per chunk. `context` holds the ballot kind's other variables (compound_name,
    vote_title, items, instructions, deadline[, mode, ballot_box, issuer]). Nothing is stored
    if any chunk fails."""
    if not owners:
        raise ValidationFailed("no owners: nothing to print", "业主名单为空，无法生成选票",
                               details=[{"field": "owners", "message": "no owners", "message_zh": "业主名单为空"}])
    if chunk_size < 1:
        raise ValidationFailed("chunk_size must be at least 1", "每批页数至少为1")
    spec = get_kind("ballot")
    numbered = [{**o, "serial": int(o.get("serial") or i)} for i, o in enumerate(owners, start=1)]
    base_title = context.get("title") or (
        f"{context.get('vote_title', '')}{'选票' if context.get('mode') == 'election' else '表决票'}")
    n_chunks = -(-len(numbered) // chunk_size)
    n_workers = workers if workers is not None else default_workers()
    n_workers = max(1, min(n_workers, n_chunks))
    pool = None
    if n_workers > 1:
        # spawn, not fork: the parent holds database connections and WeasyPrint state. The
        # workers warm up (import, fonts) while this process prepares the chunks.
        pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(n_workers):
            pool.submit(_warm)
    try:
        jobs: list[dict] = []
        codes: set[str] = set()
        static: bytes | None = None
        for start, chunk in _chunks(numbered, chunk_size):
            code = _unique_code(session)
            while code in codes:
                code = _unique_code(session)
            codes.add(code)
            first, last = chunk[0]["serial"], chunk[-1]["serial"]
            title = base_title if len(numbered) <= chunk_size else f"{base_title}（第{first}—{last}号）"
            ctx = prepare_context(session, spec, {**context, "ballots": chunk}, case=case, now=now,
                                  settings=settings, title=title, code=code)
            if start == 0:
                static = static_layer(ctx)  # identical for every chunk: render it once
            jobs.append(ctx)

        done = 0
        if progress:
            progress(0, len(numbered))
        documents: list[Document] = []

        def stored(ctx: dict, result: tuple[bytes, int]) -> None:
            """Store each chunk as it arrives (the database work overlaps the rendering)."""
            nonlocal done
            pdf, pages = result
            documents.append(store_document(session, spec, ctx, pdf, pages, case=case, actor=actor, now=now))
            done += len(ctx["ballots"])
            if progress:
                progress(done, len(numbered))

        if pool is None:
            for ctx in jobs:
                stored(ctx, _render_chunk(ctx, static))
        else:
            for ctx, result in zip(jobs, pool.map(_render_chunk, jobs, [static] * len(jobs)), strict=True):
                stored(ctx, result)
        return BallotRun(documents, len(numbered))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
