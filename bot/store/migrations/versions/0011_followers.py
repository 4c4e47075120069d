"""Followers of a ticket: residents whose report of the same problem joined an open ticket (or whose
own ticket was merged into it). They get the ticket's updates and its survey; their verdicts are
kept apart from the ticket's own resident's.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_followers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("from_ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL")),
        sa.Column("description", sa.Text),
        sa.Column("location", sa.Text),
        sa.Column("phone", sa.String(40)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("ticket_id", "conversation_id", name="uq_ticket_followers_ticket_conversation"),
    )
    op.create_index("ix_ticket_followers_conversation_id", "ticket_followers", ["conversation_id"])
    op.create_table(
        "follower_verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("survey_id", "conversation_id", name="uq_follower_verdicts_survey_conversation"),
    )
    with op.batch_alter_table("tickets") as batch:
        batch.create_index("ix_tickets_community_created", ["community", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_community_created")
    op.drop_table("follower_verdicts")
    op.drop_index("ix_ticket_followers_conversation_id", table_name="ticket_followers")
    op.drop_table("ticket_followers")
