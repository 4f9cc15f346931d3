"""The vote itself: the ballot register, the scrutineers of a case and their entries.

Revision ID: 0016
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vote_round",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("round", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("threshold", sa.String(16), nullable=False),
        sa.Column("seats", sa.Integer),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "vote_ballot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("code", sa.String(48), nullable=False, unique=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("owner_name", sa.String(200), nullable=False),
        sa.Column("units", sa.Text, nullable=False),
        sa.Column("area", sa.String(32), nullable=False),
        sa.Column("serial", sa.Integer, nullable=False),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("document.id")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_channel", sa.String(16)),
        sa.Column("delivered_by", sa.String(64)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("returned_by", sa.String(64)),
        sa.Column("returned_at", sa.DateTime(timezone=True)),
        sa.Column("voided_by", sa.String(64)),
        sa.Column("voided_at", sa.DateTime(timezone=True)),
        sa.Column("void_reason", sa.Text),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("vote_ballot.id")),
        sa.Column("voted_channel", sa.String(16)),
        sa.Column("voted_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_vote_ballot_case_round", "vote_ballot", ["case_id", "round", "owner_id"])
    op.create_table(
        "vote_scrutineer",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("designated_by", sa.String(64), nullable=False),
        sa.Column("designated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "vote_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ballot_id", sa.Integer, sa.ForeignKey("vote_ballot.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scrutineer", sa.String(64), nullable=False),
        sa.Column("reading", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("correction_of", sa.Integer, sa.ForeignKey("vote_entry.id")),
        sa.Column("correction_reason", sa.Text),
        sa.Column("set_aside", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_vote_entry_case_id", "vote_entry", ["case_id"])
    op.create_index("ix_vote_entry_ballot", "vote_entry", ["ballot_id"])


def downgrade() -> None:
    op.drop_table("vote_entry")
    op.drop_table("vote_scrutineer")
    op.drop_index("ix_vote_ballot_case_round", "vote_ballot")
    op.drop_table("vote_ballot")
    op.drop_table("vote_round")
