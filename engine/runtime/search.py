"""Case search: one text per case — case number, compound, title, the prior-review matter, the
parties' and candidates' names — kept in `case_search` and indexed by character trigrams, so
Chinese needs no word segmentation: SQLite FTS5 with the `trigram` tokenizer (`case_search_fts`,
kept in step by triggers), PostgreSQL `pg_trgm` GIN on the text itself (migration 0010).

The text is written with the case's state in the same transaction (`write_index`); queries go
through `search_condition`, which `Runtime.list_cases` applies. A term shorter than three
characters has no trigram: it is matched with LIKE over the newest `SHORT_TERM_SCAN` cases only."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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


def write_index(conn, case_id: int, body: str) -> None:
    """Insert or refresh a case's search text (a no-op when it did not change)."""
    dialect = conn.dialect.name
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(CaseSearch).values(case_id=case_id, body=body)
    conn.execute(ins.on_conflict_do_update(index_elements=[CaseSearch.case_id], set_={"body": ins.excluded.body},
                                           where=CaseSearch.body != ins.excluded.body))


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


def search_condition(dialect: str, terms: Terms, floor_id: int | None) -> ColumnElement[bool]:
    """A condition on `Case.id`: the case's text contains every term. `floor_id` bounds a search of
    short terms only to the newest cases (ids at or above it)."""
    conds = []
    if terms.indexed:
        if dialect == "sqlite":
            match = " AND ".join(_fts_phrase(t) for t in terms.indexed)
            conds.append(Case.id.in_(select(literal_column("rowid")).select_from(text("case_search_fts"))
                                     .where(text("case_search_fts MATCH :fts_match").bindparams(fts_match=match))))
        else:  # pg_trgm's GIN index answers LIKE on the case-folded text
            conds.append(Case.id.in_(select(CaseSearch.case_id).where(
                and_(*[CaseSearch.body.like(_like(t), escape="\\") for t in terms.indexed]))))
    if terms.short:
        scan = select(CaseSearch.case_id).where(and_(*[CaseSearch.body.like(_like(t), escape="\\") for t in terms.short]))
        if floor_id is not None:
            scan = scan.where(CaseSearch.case_id >= floor_id)
        conds.append(Case.id.in_(scan))
    return and_(*conds)
