"""The head of each case's audit chain (seq and row_hash of its last event) on the case row,
so that appending an event needs no read of the chain; backfilled from the events.

On PostgreSQL built with lz4 (Debian's is), the case state — rewritten by every change, some
13 KB of JSON — is compressed with lz4 rather than pglz: the same size on disk at a fraction of
the time in each UPDATE and read. Values already stored keep pglz until they are rewritten.

Revision ID: 0020
Revises: 0018 (written on 0017; re-chained after main's 0019 and 0018 when main was merged in)
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("process_case") as batch:
        batch.add_column(sa.Column("audit_seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("audit_head", sa.String(64), nullable=False, server_default=GENESIS))
    # A case's chain is "case:<number>"; its last event is the one with the highest seq.
    op.execute(sa.text("""
        UPDATE process_case SET
          audit_seq = (SELECT e.seq FROM audit_event e WHERE e.chain = 'case:' || process_case.case_number
                       ORDER BY e.seq DESC LIMIT 1),
          audit_head = (SELECT e.row_hash FROM audit_event e WHERE e.chain = 'case:' || process_case.case_number
                        ORDER BY e.seq DESC LIMIT 1)
        WHERE EXISTS (SELECT 1 FROM audit_event e WHERE e.chain = 'case:' || process_case.case_number)
    """))
    if _lz4_available():
        op.execute("ALTER TABLE process_case ALTER COLUMN state SET COMPRESSION lz4")


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return bool(bind.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar())


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE process_case ALTER COLUMN state SET COMPRESSION default")
    with op.batch_alter_table("process_case") as batch:
        batch.drop_column("audit_head")
        batch.drop_column("audit_seq")
