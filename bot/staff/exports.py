"""CSV and XLSX export of the filtered queue, or of the tickets selected in it (every one the user
may see): names instead of codes (bot/labels.py), times in the configured zone as the pages show
them; the XLSX has real date and time cells and columns wide enough to read. `make` writes the
file of one `ExportOrder`; the web app runs it in a process of its own (bot/web/context.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from bot import labels, taxonomy
from bot.errors import NotPermitted
from bot.staff import audit
from bot.staff.accounts import find_user
from bot.staff.permissions import shown_phone, visible_tickets
from bot.staff.queue import QueueFilter, apply_filters
from bot.staff.serializers import summary
from bot.store import states
from bot.store.db import session_scope
from bot.store.schema import Ticket
from bot.store.workdays import local_today, local_zone, to_local
from bot.textnorm import fold_width

# Each column: its header and its width in the XLSX (in characters; a Chinese character counts two).
COLUMNS = (
    ("编号", 19),
    ("受理时间", 17),
    ("内容", 60),
    ("类型", 10),  # 咨询 or 投诉/求助 (labels.TICKET_KINDS)
    ("类别", 16),
    ("紧急程度", 9),
    ("状态", 9),
    ("主办部门", 24),
    ("来源", 12),
    ("地点", 30),
    ("街道", 12),
    ("社区", 12),
    ("联系电话", 14),
    ("办理时限", 11),
)
HEADER = [name for name, _ in COLUMNS]
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
MAX_ROWS = 100_000


@dataclass(frozen=True)
class ExportOrder:
    """An export a member of staff asked for: the filtered queue (`wanted`, the page's `query`) or
    the tickets they selected in it (`numbers`), as "csv" or "xlsx"."""

    username: str
    kind: str
    remote_addr: str = ""
    wanted: Optional[QueueFilter] = None
    query: Tuple[Tuple[str, str], ...] = ()
    numbers: Tuple[str, ...] = ()


def make(order: ExportOrder, database_url: str) -> bytes:
    """The file, and the export written to the audit log, in one transaction of the store."""
    with session_scope(database_url) as session:
        user = find_user(session, order.username)
        if user is None:
            raise NotPermitted("没有这个账号")
        if order.wanted is None:
            data = list(selected_rows(session, user, order.numbers))
            detail: Dict[str, Any] = {"selected": list(order.numbers)}
        else:
            data = list(rows(session, user, order.wanted))
            detail = {"query": dict(order.query)}
        audit.record(
            session, user.username, "export", remote_addr=order.remote_addr, kind=order.kind, rows=len(data), **detail
        )
        return as_csv(data) if order.kind == "csv" else as_xlsx(data)


def rows(session, user, wanted):
    """The filtered queue as table rows."""
    query = apply_filters(visible_tickets(user, select(Ticket)), wanted)
    return _rows(session, user, query.order_by(Ticket.created_at.desc()).limit(MAX_ROWS))


def selected_rows(session, user, numbers: Sequence[str]):
    """The tickets selected in the queue (those of them the user may see), newest first."""
    query = visible_tickets(user, select(Ticket)).where(Ticket.number.in_([n.upper() for n in numbers]))
    return _rows(session, user, query.order_by(Ticket.created_at.desc()).limit(MAX_ROWS))


def _rows(session, user, query) -> Iterable[list]:
    """Table rows: the ticket's shape of bot/staff/serializers.py with names for codes, the phone as
    the user may see it, times in the local zone (datetime and date values; each format writes them)."""
    tax, today, zone = taxonomy.load(), local_today(), local_zone()  # read once, not once a row
    for ticket in session.execute(query).scalars():
        t = summary(ticket, user, today)
        yield [
            t.number,
            to_local(t.created_at, zone).replace(tzinfo=None),  # as the pages show it
            t.description,
            labels.ticket_kind(t.kind),
            tax.categories[t.category].name,
            tax.urgency_names.get(t.urgency, t.urgency),
            states.LABELS.get(t.status, t.status),
            tax.departments[t.lead_department].name if t.lead_department in tax.departments else t.lead_department,
            labels.channel(ticket.channel),
            t.location or "",
            t.street or "",
            t.community or "",
            shown_phone(user, ticket.phone) or "",
            t.deadline,
        ]


_FORMULA_START = ("=", "+", "-", "@")


def _cell(value):
    """A spreadsheet program runs a cell as a formula when it starts with = + - @ — also after
    leading spaces, tabs or line breaks, and in full width (＝ ＋ － ＠); such cells get a quote."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in ("\t", "\r", "\n") or fold_width(value.lstrip(" \t\r\n\u3000")[:1]) in _FORMULA_START:
        return "'" + value
    return value


def _text(value):
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return _cell(value)


def as_csv(data) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows([_text(v) for v in row] for row in data)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM lets Excel read the Chinese


def as_xlsx(data) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    for index, (_, width) in enumerate(COLUMNS, start=1):  # set before the first row is written
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(HEADER)
    for row in data:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value):
    """Times and dates as the spreadsheet's own date cells (sortable, filterable), shown local."""
    if isinstance(value, (dt.datetime, dt.date)):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
        return cell
    return _cell(value)
