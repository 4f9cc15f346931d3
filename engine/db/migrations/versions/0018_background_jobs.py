"""Jobs not tied to a BPMN step: a kind (the continuation of a case's step, or a registered kind
such as a large owner-roll import or a bulk audit export), their parameters and result, and the
stored result file.

Revision ID: 0018
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("kind", sa.String(32), nullable=False, server_default="continuation"))
        batch.alter_column("case_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("params", sa.Text))
        batch.add_column(sa.Column("result", sa.Text))
        batch.add_column(sa.Column("result_attachment_id", sa.Integer,
                                   sa.ForeignKey("attachment.id", name="fk_job_result_attachment",
                                                 ondelete="SET NULL")))
    op.create_index("ix_job_triggered_by", "job", ["triggered_by", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_job_triggered_by", "job")
    # Jobs of other kinds did not exist before: their rows (and result files) go with the columns.
    op.execute("UPDATE job SET result_attachment_id = NULL")
    op.execute("DELETE FROM job WHERE kind <> 'continuation'")
    with op.batch_alter_table("job") as batch:
        batch.drop_constraint("fk_job_result_attachment", type_="foreignkey")
        batch.drop_column("result_attachment_id")
        batch.drop_column("result")
        batch.drop_column("params")
        batch.alter_column("case_id", existing_type=sa.Integer, nullable=False)
        batch.drop_column("kind")
