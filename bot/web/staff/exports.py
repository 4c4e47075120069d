"""CSV and XLSX export of the filtered queue (every matching ticket the user may see)."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from sqlalchemy import select

from bot import taxonomy
from bot.parsing import mask_phone
from bot.staff.permissions import visible_tickets
from bot.store import states
from bot.store.schema import Ticket
from bot.web.staff.queue import apply_filters

HEADER = ["编号", "受理时间", "内容", "类别", "紧急程度", "状态", "主办部门", "地点", "联系电话", "办理时限"]
MAX_ROWS = 100_000


def rows(session, user, wanted):
    tax = taxonomy.load()
    query = apply_filters(visible_tickets(user, select(Ticket)), wanted).order_by(Ticket.created_at.desc()).limit(MAX_ROWS)
    show_phone = user.role in ("dispatcher", "department", "admin")
    for t in session.execute(query).scalars():
        yield [t.number, t.created_at.isoformat(sep=" "), t.description, tax.categories[t.category_id].name,
               tax.urgency_names.get(t.urgency, t.urgency), states.LABELS.get(t.status, t.status),
               tax.departments[t.lead_department_id].name if t.lead_department_id in tax.departments else t.lead_department_id,
               t.location or "", (t.phone if show_phone else mask_phone(t.phone)) if t.phone else "",
               t.deadline.isoformat()]


def _cell(value):
    # A cell starting with = + - @ would be run as a formula by spreadsheet programs.
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


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
