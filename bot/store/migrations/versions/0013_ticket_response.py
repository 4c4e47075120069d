"""Each ticket's response deadline (响应时限) and first answer, kept on the ticket so that the
response rate is counted by the database (existing tickets get them from their urgency, their
filing time and their history); the open tickets indexed by deadline, overall and by department; what a period's figures read of
each ticket, indexed by filing time.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("response_due", sa.DateTime))
        batch.add_column(sa.Column("responded_at", sa.DateTime))
    connection = op.get_bind()
    # The first answer: dispatch, rejection, merge or a reply to the resident (bot/store/states.py).
    connection.execute(
        sa.text(
            "UPDATE tickets SET responded_at = (SELECT min(e.at) FROM ticket_events e WHERE e.ticket_id = tickets.id"
            " AND (e.kind = 'reply' OR (e.kind = 'status' AND e.to_status IN ('dispatched', 'rejected', 'duplicate'))))"
        )
    )
    _response_deadlines(connection)
    # Open tickets by deadline: the overdue queue's page and the inspection list's longest overdue.
    open_only = sa.text("status IN ('dispatched', 'in_progress', 'reopened', 'returned', 'submitted')")
    where = {"postgresql_where": open_only, "sqlite_where": open_only}
    op.create_index("ix_tickets_open_deadline", "tickets", ["deadline", sa.text("id DESC")], **where)
    op.create_index(
        "ix_tickets_open_department_deadline", "tickets", ["lead_department_id", "deadline", "id"], **where
    )
    # What a period's figures read of each ticket, in an index (PostgreSQL: read without the rows).
    figures = ["lead_department_id", "category_id", "status", "deadline", "response_due", "responded_at"]
    op.create_index("ix_tickets_created_figures", "tickets", ["created_at"], postgresql_include=figures)


def _response_deadlines(connection) -> None:
    """The response deadline of every ticket, by the deadlines and the working days in force now."""
    from bot.store.workdays import ResponseClock

    tickets = sa.table(
        "tickets", sa.column("id", sa.Integer), sa.column("urgency", sa.String), sa.column("created_at", sa.DateTime)
    )
    first, last = connection.execute(sa.select(sa.func.min(tickets.c.created_at), sa.func.max(tickets.c.created_at))).one()
    if first is None:
        return
    day = dt.timedelta(days=1)
    clock = ResponseClock(first.date() - day, last.date() + day)
    update = sa.text("UPDATE tickets SET response_due = :due WHERE id = :id").bindparams(
        sa.bindparam("due", type_=sa.DateTime)
    )
    after = 0
    while True:
        rows = connection.execute(
            sa.select(tickets.c.id, tickets.c.urgency, tickets.c.created_at)
            .where(tickets.c.id > after)
            .order_by(tickets.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(update, [{"id": i, "due": clock.due(created, urgency)} for i, urgency, created in rows])
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_tickets_created_figures", table_name="tickets")
    op.drop_index("ix_tickets_open_department_deadline", table_name="tickets")
    op.drop_index("ix_tickets_open_deadline", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("responded_at")
        batch.drop_column("response_due")
