"""Departments, categories, tickets with their history, and daily number sequences.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_id", sa.String(64), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("deadline_days", sa.Integer, nullable=False),
    )
    op.create_table(
        "daily_sequences",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("submission_key", sa.String(200), unique=True),
        sa.Column("conversation_id", sa.String(200), index=True),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category_id", sa.String(64), sa.ForeignKey("categories.id"), nullable=False),
        sa.Column("category_confidence", sa.Float),
        sa.Column("urgency", sa.String(20), nullable=False),
        sa.Column("urgency_confidence", sa.Float),
        sa.Column("location", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("photo_url", sa.Text),
        sa.Column("phone", sa.String(40)),
        sa.Column("script", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lead_department_id", sa.String(64), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_tickets_status_deadline", "tickets", ["status", "deadline"])
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("ticket_events")
    op.drop_index("ix_tickets_status_deadline", table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("daily_sequences")
    op.drop_table("categories")
    op.drop_table("departments")
