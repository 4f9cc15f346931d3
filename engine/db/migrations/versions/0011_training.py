"""A training database: the flag that makes one, and the per-case simulated clock offset.

`deployment_flag` holds flags fixed when a database is created (`hongwu init --training` writes
the row named "training"); `process_case.clock_offset_days` is how far an administrator has moved
a case's clock forward in a training database (always 0 elsewhere).

Revision ID: 0011
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_flag",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("process_case") as batch:
        batch.add_column(sa.Column("clock_offset_days", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("process_case") as batch:
        batch.drop_column("clock_offset_days")
    op.drop_table("deployment_flag")
