"""Staff sessions kept in the store, so that logout, a password change or a deactivation ends them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("remote_addr", sa.String(64)),
    )
    op.create_index("ix_login_failures_addr_at", "login_failures", ["remote_addr", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_addr_at", "login_failures")
    op.drop_table("staff_sessions")
