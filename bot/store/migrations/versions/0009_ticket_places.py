"""Where a ticket's problem is, as the gazetteer knows it (街道, 社区) and as the resident's device
reported it (latitude, longitude).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("street", sa.String(60)))
        batch.add_column(sa.Column("community", sa.String(60)))
        batch.add_column(sa.Column("latitude", sa.Float))
        batch.add_column(sa.Column("longitude", sa.Float))
        batch.create_index("ix_tickets_street", ["street"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_street")
        batch.drop_column("longitude")
        batch.drop_column("latitude")
        batch.drop_column("community")
        batch.drop_column("street")
