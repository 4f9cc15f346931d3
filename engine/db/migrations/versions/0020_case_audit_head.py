"""The head of each case's audit chain (seq and row_hash of its last event) on the case row,
so that appending an event needs no read of the chain; backfilled from the events.

Revision ID: 0020
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
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


def downgrade() -> None:
    with op.batch_alter_table("process_case") as batch:
        batch.drop_column("audit_head")
        batch.drop_column("audit_seq")
