"""Notifications: the in-app centre, the outbox of messages to send, user preferences, the
occasions already announced and who holds a task.

Revision ID: 0013
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.String(300)),
        sa.Column("case_id", sa.Integer),
        sa.Column("task_id", sa.String(36)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_notification_user_unread", "notification", ["username", "read_at", "id"])
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("notification_id", sa.Integer, sa.ForeignKey("notification.id", ondelete="CASCADE")),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.String(300)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_outbox_due", "notification_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "notification_preference",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("muted_kinds", sa.Text, nullable=False, server_default="[]"),
        sa.Column("contacts", sa.Text, nullable=False, server_default="{}"),
        sa.Column("instant_channels", sa.Text, nullable=False, server_default="[]"),
        sa.Column("daily_digest", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("digest_sent_on", sa.String(10)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notification_occasion",
        sa.Column("subject", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_occasion")
    op.drop_table("notification_preference")
    op.drop_index("ix_outbox_due", "notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index("ix_notification_user_unread", "notification")
    op.drop_table("notification")
