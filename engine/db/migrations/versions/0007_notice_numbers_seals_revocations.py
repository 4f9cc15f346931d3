"""Notices residents can trust: the agency's 机关代字 per organisation, its electronic seal image,
document numbers unique per issuer and year in the database, and revocations of documents.

Revision ID: 0007
Revises: 0002
"""
import re

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None

# Numbers issued before this revision: "〔2026〕3号" (no prefix yet).
_NUMBER = re.compile(r"〔(\d{4})〕(\d+)号$")


def upgrade() -> None:
    with op.batch_alter_table("org_unit") as batch:
        batch.add_column(sa.Column("doc_prefix", sa.String(20)))
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("doc_year", sa.Integer))
        batch.add_column(sa.Column("doc_seq", sa.Integer))
    # Backfill year and sequence of the numbers already issued, so the unique index covers them.
    bind = op.get_bind()
    document = sa.table("document", sa.column("id", sa.Integer), sa.column("doc_number", sa.String),
                        sa.column("doc_year", sa.Integer), sa.column("doc_seq", sa.Integer))
    rows = bind.execute(sa.select(document.c.id, document.c.doc_number).where(document.c.doc_number.is_not(None)))
    for doc_id, number in rows.fetchall():
        m = _NUMBER.search(number or "")
        if m:
            bind.execute(document.update().where(document.c.id == doc_id)
                         .values(doc_year=int(m.group(1)), doc_seq=int(m.group(2))))
    op.create_index("uq_document_issuer_year_seq", "document", ["issuer", "doc_year", "doc_seq"], unique=True)
    op.create_table(
        "org_seal",
        sa.Column("org_unit_id", sa.Integer, sa.ForeignKey("org_unit.id"), primary_key=True),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "document_revocation",
        sa.Column("document_id", sa.Integer, sa.ForeignKey("document.id"), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("revoked_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("document_revocation")
    op.drop_table("org_seal")
    op.drop_index("uq_document_issuer_year_seq", table_name="document")
    with op.batch_alter_table("document") as batch:
        batch.drop_column("doc_seq")
        batch.drop_column("doc_year")
    with op.batch_alter_table("org_unit") as batch:
        batch.drop_column("doc_prefix")
