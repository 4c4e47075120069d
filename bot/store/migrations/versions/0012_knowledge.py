"""The knowledge base (知识库): entries staff keep to answer residents' questions, every revision of
each, the questions residents asked that it could not answer well, and the kind of a ticket
(report, or enquiry — 咨询件 — filed when the knowledge base did not help).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _entry_columns() -> list:
    return [
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("phrasings", sa.Text, nullable=False, server_default=""),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("department_id", sa.String(64), sa.ForeignKey("departments.id")),
        sa.Column("category_id", sa.String(64), sa.ForeignKey("categories.id")),
        sa.Column("published", sa.Boolean, nullable=False, server_default=sa.false()),
    ]


def upgrade() -> None:
    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        *_entry_columns(),
        sa.Column("sample", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_knowledge_entries_department_id", "knowledge_entries", ["department_id"])
    op.create_table(
        "knowledge_revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "entry_id", sa.Integer, sa.ForeignKey("knowledge_entries.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("change", sa.String(20), nullable=False),
        *_entry_columns(),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("entry_id", "version", name="uq_knowledge_revisions_entry_version"),
    )
    op.create_table(
        "knowledge_questions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("conversation_id", sa.String(200)),
        sa.Column("script", sa.String(20)),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("knowledge_entries.id", ondelete="SET NULL")),
        sa.Column("score", sa.Float),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL")),
        sa.Column("covered_by_id", sa.Integer, sa.ForeignKey("knowledge_entries.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_knowledge_questions_outcome_created", "knowledge_questions", ["outcome", "created_at"])
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="report"))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("kind")
    op.drop_index("ix_knowledge_questions_outcome_created", table_name="knowledge_questions")
    op.drop_table("knowledge_questions")
    op.drop_table("knowledge_revisions")
    op.drop_index("ix_knowledge_entries_department_id", table_name="knowledge_entries")
    op.drop_table("knowledge_entries")
