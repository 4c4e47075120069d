"""Indexes for the staff queue and the dashboard at 100,000 tickets.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    op.create_index("ix_tickets_department_created", "tickets", ["lead_department_id", "created_at"])
    op.create_index("ix_tickets_category_created", "tickets", ["category_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_category_created", table_name="tickets")
    op.drop_index("ix_tickets_department_created", table_name="tickets")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
