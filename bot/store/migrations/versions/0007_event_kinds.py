"""What a history line is: a status change, a reply to the resident, an internal note, …

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch:
        batch.add_column(sa.Column("kind", sa.String(20)))
    # Lines written before: replies and notes were told apart by their label only.
    op.execute("UPDATE ticket_events SET kind = 'reply' WHERE from_status = to_status AND note LIKE '答复：%'")
    op.execute("UPDATE ticket_events SET kind = 'note' WHERE kind IS NULL AND from_status = to_status")
    op.execute("UPDATE ticket_events SET kind = 'status' WHERE kind IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_column("kind")
