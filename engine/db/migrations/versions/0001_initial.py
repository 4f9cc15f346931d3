"""Initial schema: organisations, users, definitions, cases, tasks, timers, audit, documents.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

# The column type as it was at 0001, spelled here: a migration never imports the live models
# (they describe the newest schema). engine.db.models.UTCDateTime stores exactly this type; its
# UTC conversion happens in Python and leaves no trace in the schema.
UTCDateTime = sa.DateTime(timezone=True)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PG_AUDIT_GUARD = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
"""

SQLITE_AUDIT_GUARD = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END""",
]


def upgrade() -> None:
    op.create_table(
        "org_unit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("org_unit.id")),
        sa.Column("path", sa.String(400), nullable=False),
    )
    op.create_index("ix_org_unit_path", "org_unit", ["path"])
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer, sa.ForeignKey("org_unit.id")),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("org_unit_id", sa.Integer, sa.ForeignKey("org_unit.id")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_table(
        "setting_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("org_unit_id", sa.Integer, sa.ForeignKey("org_unit.id")),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("key", "org_unit_id", "version"),
    )
    op.create_table(
        "process_definition",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("deployed_by", sa.String(64), nullable=False),
        sa.Column("deployed_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("key", "version"),
    )
    op.create_table(
        "process_case",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_number", sa.String(40), nullable=False, unique=True),
        sa.Column("definition_id", sa.Integer, sa.ForeignKey("process_definition.id"), nullable=False),
        sa.Column("process_key", sa.String(100), nullable=False),
        sa.Column("compound_id", sa.Integer, sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime),
        sa.Column("external_source", sa.String(64)),
        sa.Column("external_ref", sa.String(128)),
        sa.UniqueConstraint("external_source", "external_ref"),
    )
    op.create_index("ix_process_case_process_key", "process_case", ["process_key"])
    op.create_index("ix_case_org_status", "process_case", ["org_path", "status"])
    op.create_table(
        "human_task",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("spec_name", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("lane", sa.String(100)),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("form", sa.String(200)),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("compound_id", sa.Integer, sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("process_key", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime),
    )
    op.create_index("ix_human_task_case_id", "human_task", ["case_id"])
    op.create_index("ix_task_role_org", "human_task", ["role", "org_path"])
    op.create_table(
        "timer",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("spec_name", sa.String(100), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_until", UTCDateTime),
    )
    op.create_index("ix_timer_case_id", "timer", ["case_id"])
    op.create_index("ix_timer_due_at", "timer", ["due_at"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("chain", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(36)),
        sa.Column("task_name", sa.String(200)),
        sa.Column("data_before", sa.Text),
        sa.Column("data_after", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("chain", "seq"),
    )
    op.create_index("ix_audit_event_case_id", "audit_event", ["case_id"])
    op.create_index("ix_audit_event_task_id", "audit_event", ["task_id"])
    op.create_table(
        "document",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id")),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("doc_number", sa.String(64)),
        sa.Column("issued_on", sa.String(10), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("pages", sa.Integer, nullable=False, server_default="1"),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("verification_code", sa.String(32), nullable=False, unique=True),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("document.id")),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_document_case_id", "document", ["case_id"])
    op.create_index("ix_document_sha256", "document", ["sha256"])
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("process_case.id")),
        sa.Column("task_id", sa.String(36)),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_attachment_case_id", "attachment", ["case_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_AUDIT_GUARD)
    else:
        for stmt in SQLITE_AUDIT_GUARD:
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    for table in ("attachment", "document", "audit_event", "timer", "human_task", "process_case",
                  "process_definition", "setting_version", "api_token", "app_user", "org_unit"):
        op.drop_table(table)
