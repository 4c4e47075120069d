"""CSV and XLSX export of the filtered queue (every matching ticket the user may see)."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from sqlalchemy import select

from bot import taxonomy
from bot.staff.permissions import shown_phone, visible_tickets
from bot.staff.queue import apply_filters
from bot.staff.serializers import summary
from bot.store import states
from bot.store.schema import Ticket
from bot.store.workdays import local_today
from bot.textnorm import fold_width

HEADER = [
    *("编号", "受理时间", "内容", "类别", "紧急程度", "状态", "主办部门"),
    *("地点", "街道", "社区", "联系电话", "办理时限"),
]
MAX_ROWS = 100_000


def rows(session, user, wanted):
    """The filtered queue as table rows: the ticket's shape of bot/staff/serializers.py with names
    for ids, and the phone as the user may see it."""
    tax = taxonomy.load()
    today = local_today()
    query = (
        apply_filters(visible_tickets(user, select(Ticket)), wanted).order_by(Ticket.created_at.desc()).limit(MAX_ROWS)
    )
    for ticket in session.execute(query).scalars():
        t = summary(ticket, user, today)
        yield [
            t.number,
            t.created_at.isoformat(sep=" "),
            t.description,
            tax.categories[t.category].name,
            tax.urgency_names.get(t.urgency, t.urgency),
            states.LABELS.get(t.status, t.status),
            tax.departments[t.lead_department].name if t.lead_department in tax.departments else t.lead_department,
            t.location or "",
            t.street or "",
            t.community or "",
            shown_phone(user, ticket.phone) or "",
            t.deadline.isoformat(),
        ]


_FORMULA_START = ("=", "+", "-", "@")


def _cell(value):
    """A spreadsheet program runs a cell as a formula when it starts with = + - @ — also after
    leading spaces, tabs or line breaks, and in full width (＝ ＋ － ＠); such cells get a quote."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in ("\t", "\r", "\n") or fold_width(value.lstrip(" \t\r\n\u3000"))[:1] in _FORMULA_START:
        return "'" + value
    return value


def as_csv(data) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows([_cell(v) for v in row] for row in data)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM lets Excel read the Chinese


def as_xlsx(data) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    sheet.append(HEADER)
    for row in data:
        sheet.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
