"""Outbox of resident notifications, satisfaction surveys, scheduler leases, overdue mark.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("conversation_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("claimed_until", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("delivered_at", sa.DateTime),
        sa.Column("delivered_via", sa.String(20)),
    )
    op.create_index("ix_notifications_status_next", "notifications", ["status", "next_attempt_at"])
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("department_id", sa.String(64), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("reminded_at", sa.DateTime),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("rating", sa.Integer),
        sa.Column("comment", sa.Text),
        sa.Column("source", sa.String(20)),
        sa.Column("recorded_by", sa.String(200)),
    )
    op.create_index("ix_surveys_status_created", "surveys", ["status", "created_at"])
    op.create_index("ix_surveys_department_created", "surveys", ["department_id", "created_at"])
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("overdue_noted_at", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("overdue_noted_at")
    op.drop_table("scheduler_leases")
    op.drop_table("surveys")
    op.drop_table("notifications")
