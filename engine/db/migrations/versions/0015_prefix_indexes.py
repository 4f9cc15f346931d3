"""Jurisdiction look-ups that stay indexed at city scale (bench/scale.py).

Inboxes, the dashboard's overdue tasks and the street reports select rows whose `org_path` starts
with a jurisdiction's path (`LIKE 'PK/PK-JP/%'`). Under a database collation other than C (ours is
C.UTF-8, which PostgreSQL 15 does not treat as C) a plain btree cannot answer a prefix LIKE, so
each of these read every task or every case of a process. `varchar_pattern_ops` indexes can; SQLite
gets plain indexes with the same columns.

Revision ID: 0015
Revises: 0011
"""
from alembic import op

revision = "0015"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A jurisdiction's open tasks: the inbox (with the role) and the overdue count (with due_at).
    op.create_index("ix_task_org_prefix", "human_task", ["org_path", "role", "due_at"],
                    postgresql_ops={"org_path": "varchar_pattern_ops"})
    # A street's cases of one process: the dashboard's reports.
    op.create_index("ix_case_process_org_prefix", "process_case", ["process_key", "org_path"],
                    postgresql_ops={"org_path": "varchar_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_case_process_org_prefix", table_name="process_case")
    op.drop_index("ix_task_org_prefix", table_name="human_task")
