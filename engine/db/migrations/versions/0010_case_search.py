"""Case search by character trigrams, and the inbox's arrival order.

`case_search` holds one case-folded text per case. SQLite: an FTS5 table with the `trigram`
tokenizer over it (external content), kept in step by triggers. PostgreSQL: `pg_trgm` and a GIN
index on the text. Existing cases get a text from their columns (number, compound, title, matter);
the parties' and candidates' names, which live in the workflow state, join it when the case is
next saved (or at once with `hongwu case reindex`).

Revision ID: 0010
Revises: 0002
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE case_search_fts USING fts5(body, content='case_search', content_rowid='case_id',
       tokenize='trigram')""",
    """CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN
         INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END""",
    """CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN
         INSERT INTO case_search_fts(case_search_fts, rowid, body) VALUES ('delete', old.case_id, old.body); END""",
    """CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN
         INSERT INTO case_search_fts(case_search_fts, rowid, body) VALUES ('delete', old.case_id, old.body);
         INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END""",
]


def _backfill(bind) -> None:
    rows = bind.execute(sa.text(
        "SELECT c.id, c.case_number, o.code, o.name, c.title, c.summary FROM process_case c "
        "JOIN org_unit o ON o.id = c.compound_id")).all()
    out = []
    for case_id, number, code, name, title, summary in rows:
        try:
            matter = (json.loads(summary or "{}") or {}).get("matter_name")
        except ValueError:
            matter = None
        parts = [p.strip() for p in (number, code, name, title, matter) if isinstance(p, str) and p.strip()]
        out.append({"case_id": case_id, "body": "\n".join(dict.fromkeys(parts)).casefold()})
    if out:
        bind.execute(sa.text("INSERT INTO case_search (case_id, body) VALUES (:case_id, :body)"), out)


def upgrade() -> None:
    op.create_table(
        "case_search",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for stmt in SQLITE_FTS:
            op.execute(stmt)
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_case_search_trgm ON case_search USING gin (body gin_trgm_ops)")
    _backfill(bind)
    op.create_index("ix_task_role_created", "human_task", ["role", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_task_role_created", table_name="human_task")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("case_search_au", "case_search_ad", "case_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_case_search_trgm")
    op.drop_table("case_search")
