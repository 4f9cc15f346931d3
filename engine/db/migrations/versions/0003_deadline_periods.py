"""What each pending deadline was counted from: trigger day, length, rule kind, and the note shown
when it rests on the statutory fallback calendar, on the task and timer rows, so that loading a
year's official holiday schedule can count them again.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("human_task", "timer")


def _columns() -> list[sa.Column]:
    return [
        sa.Column("period_trigger", sa.String(10)),  # civil date (Asia/Shanghai) the period counts from
        sa.Column("period_days", sa.Integer),
        sa.Column("period_months", sa.Integer),
        sa.Column("period_years", sa.Integer),
        sa.Column("period_kind", sa.String(32)),
        sa.Column("due_note", sa.String(300)),
    ]


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in _columns():
                batch.add_column(column)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(_columns()):
                batch.drop_column(column.name)
