"""The second factor of online voting, fixed per round (the PIN printed on the ballot or the last
six characters of the owner's ID number), and the keyed hash a ballot is checked against in the
second case.

Revision ID: 0019
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vote_round", sa.Column("second_factor", sa.String(16), nullable=False, server_default="pin"))
    op.add_column("vote_ballot", sa.Column("id_check", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("vote_ballot") as batch:
        batch.drop_column("id_check")
    with op.batch_alter_table("vote_round") as batch:
        batch.drop_column("second_factor")
