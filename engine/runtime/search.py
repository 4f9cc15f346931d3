"""Case search: one text per case — case number, compound, title, the prior-review matter, the
parties' and candidates' names — kept in `case_search` and indexed by character trigrams, so
Chinese needs no word segmentation: SQLite FTS5 with the `trigram` tokenizer (`case_search_fts`,
kept in step by triggers), PostgreSQL `pg_trgm` GIN on the text itself (migration 0010).

The text is written with the case's state in the same transaction (`write_index`); queries go
through `narrow`, which `Runtime.list_cases` applies. A term shorter than three
characters has no trigram: it is matched with LIKE over the newest `SHORT_TERM_SCAN` cases of the
whole system only."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, column, table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Case, CaseSearch

TRIGRAM = 3
SHORT_TERM_SCAN = 20000  # newest cases a search of only short terms looks through
MAX_TERMS = 6
MAX_QUERY = 100


def _names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(x["name"]) for x in items if isinstance(x, dict) and x.get("name")]


def index_text(case_number: str, compound_code: str, compound_name: str, title: str,
               data: dict[str, Any], summary: dict[str, Any]) -> str:
    """The searchable text of a case, case-folded (search is case-insensitive)."""
    parts = [case_number, compound_code, compound_name, title, summary.get("matter_name"),
             (data.get("classification") or {}).get("matter_name") if isinstance(data.get("classification"), dict) else None,
             *_names(data.get("parties")), *_names(data.get("candidates"))]
    seen: list[str] = []
    for p in parts:
        if isinstance(p, str) and p.strip() and p.strip() not in seen:
            seen.append(p.strip())
    # A separator no query can contain keeps neighbouring fields from forming false matches.
    return "\n".join(seen).casefold()


def _upsert(dialect: str):
    # Bind names of its own: it may be sent inside the case row's UPDATE (write_index_with_case).
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(CaseSearch).values(
        case_id=bindparam("search_case_id"), body=bindparam("search_body"))
    return ins.on_conflict_do_update(index_elements=[CaseSearch.case_id], set_={"body": ins.excluded.body},
                                     where=CaseSearch.body != ins.excluded.body)


# Built once per dialect: every save runs it, and building a statement costs more than running it.
_UPSERT = {d: _upsert(d) for d in ("sqlite", "postgresql")}


def write_index(conn, case_id: int, body: str) -> None:
    """Insert or refresh a case's search text (a no-op when it did not change)."""
    conn.execute(_UPSERT[conn.dialect.name], {"search_case_id": case_id, "search_body": body})


def write_index_with_case(session: Session, case: Case, body: str) -> None:
    """The same, sent with the case row's UPDATE at the end of the change (one round trip on
    PostgreSQL; see engine.audit.write_along)."""
    audit.write_along(session, case, "search", _UPSERT[session.get_bind().dialect.name],
                      {"search_case_id": case.id, "search_body": body})


@dataclass(frozen=True)
class Terms:
    indexed: tuple[str, ...]  # three characters or more: answered by the trigram index
    short: tuple[str, ...]  # fewer: LIKE over a bounded set

    @property
    def bounded(self) -> bool:
        return bool(self.short) and not self.indexed


def terms_of(query: str) -> Terms:
    """Whitespace-separated terms, case-folded; every term must match."""
    words: list[str] = []
    for w in query[:MAX_QUERY].casefold().split():
        if w not in words:
            words.append(w)
    words = words[:MAX_TERMS]
    return Terms(tuple(w for w in words if len(w) >= TRIGRAM), tuple(w for w in words if len(w) < TRIGRAM))


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def narrow(q: Select, dialect: str, terms: Terms, floor_id: int | None) -> tuple[Select, ColumnElement]:
    """`q` (a select over Case) limited to cases whose text contains every term, and the column to
    order it by, newest first. `floor_id` bounds a search of short terms only to the newest cases
    (ids at or above it).

    Joins rather than `IN (…)`: walking the matches newest first, the database stops after a page,
    where `IN` would first collect every match (a third of all cases for a compound's name)."""
    order: ColumnElement = Case.id.expression
    if terms.indexed and dialect == "sqlite":
        # FTS5 hands its matches over in rowid order, so the page needs no sort.
        fts = table("case_search_fts", column("rowid"))
        match = " AND ".join(_fts_phrase(t) for t in terms.indexed)
        q = q.join(fts, fts.c.rowid == Case.id).where(text("case_search_fts MATCH :fts_match").bindparams(fts_match=match))
        order = fts.c.rowid
    likes = terms.short if dialect == "sqlite" else terms.indexed + terms.short
    if likes:  # pg_trgm's GIN index answers LIKE on the case-folded text; short terms are scanned
        q = q.join(CaseSearch, CaseSearch.case_id == Case.id).where(
            and_(*[CaseSearch.body.like(_like(t), escape="\\") for t in likes]))
        if floor_id is not None:
            q = q.where(Case.id >= floor_id)
    return q, order
