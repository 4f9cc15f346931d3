"""Inbox order index: open tasks of a role by due date, then age.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_role_due", "human_task", ["role", "due_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_task_role_due", table_name="human_task")
