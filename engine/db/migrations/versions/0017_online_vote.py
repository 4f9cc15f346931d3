"""Owners vote online: each online vote on a ballot (the first one counted, later ones set
aside), its receipt code, and the PIN tries per ballot.

Revision ID: 0017
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vote_ballot", sa.Column("pin_failures", sa.Integer, nullable=False, server_default="0"))
    op.add_column("vote_ballot", sa.Column("pin_locked_at", sa.DateTime(timezone=True)))
    op.create_table(
        "vote_online",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ballot_id", sa.Integer, sa.ForeignKey("vote_ballot.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reading", sa.Text, nullable=False),
        sa.Column("receipt", sa.String(32), nullable=False, unique=True),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_aside", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("set_aside_reason", sa.Text),
    )
    op.create_index("ix_vote_online_case_id", "vote_online", ["case_id"])
    # At most one counted online vote per ballot, whatever races past the row lock.
    op.create_index("ux_vote_online_counted", "vote_online", ["ballot_id"], unique=True,
                    postgresql_where=sa.text("NOT set_aside"), sqlite_where=sa.text("NOT set_aside"))


def downgrade() -> None:
    op.drop_index("ux_vote_online_counted", "vote_online")
    op.drop_index("ix_vote_online_case_id", "vote_online")
    op.drop_table("vote_online")
    op.drop_column("vote_ballot", "pin_locked_at")
    op.drop_column("vote_ballot", "pin_failures")
