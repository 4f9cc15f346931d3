"""Sessions that can be ended and login throttling per client address.

`app_user.session_version` is carried in the session cookie; raising it ends every session of
the user at once (logout, password change or reset, deactivation, an administrator's 下线).
`login_throttle` counts failed logins per client address for growing delays.

Revision ID: 0004
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "login_throttle",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_version")
