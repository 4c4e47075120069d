"""Checks of a ticket number against a phone's last four digits, counted in the store.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_checks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_number", sa.String(40), nullable=False),
        sa.Column("source", sa.String(64)),
        sa.Column("conversation_id", sa.String(200)),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
    )
    op.create_index("ix_status_checks_number_at", "status_checks", ["ticket_number", "at"])
    op.create_index("ix_status_checks_source_at", "status_checks", ["source", "at"])


def downgrade() -> None:
    op.drop_table("status_checks")
