"""Audit anchor: the case state hashed into chain events, a keyed seal per event, and signed
checkpoints over the heads of all chains.

Existing events keep their hashes (the new columns are NULL and then take no part in the row
hash); they are anchored by the first checkpoint written after the upgrade.

Revision ID: 0005
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite keeps the table and its append-only triggers.
    op.add_column("audit_event", sa.Column("state_hash", sa.String(64), nullable=True))
    op.add_column("audit_event", sa.Column("seal", sa.String(64), nullable=True))
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("last_event_id", sa.BigInteger, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("chains", sa.Integer, nullable=False),
        sa.Column("merkle_root", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    # Plain DROP COLUMN (SQLite >= 3.35) rather than a batch copy, which would lose the triggers.
    op.drop_column("audit_event", "seal")
    op.drop_column("audit_event", "state_hash")
