"""Who holds an open task (claim, assignment, delegation) and comments on cases.

`task_claim` is keyed by the task id and removed with the task row (ON DELETE CASCADE): a task
that is no longer ready is held by nobody. `case_comment` keeps comments on a case or a task.

Revision ID: 0012
Revises: 0014 (the last migration on main when this landed)
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_claim",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_claim_case_id", "task_claim", ["case_id"])
    op.create_index("ix_task_claim_holder", "task_claim", ["holder"])
    op.create_table(
        "case_comment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("task_name", sa.String(200), nullable=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("mentions", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_comment_case_id", "case_comment", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_comment_case_id", "case_comment")
    op.drop_table("case_comment")
    op.drop_index("ix_task_claim_holder", "task_claim")
    op.drop_index("ix_task_claim_case_id", "task_claim")
    op.drop_table("task_claim")
