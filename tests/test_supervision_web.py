"""The supervision pages over HTTP: the period chosen from a list and a bad one answered 400,
departments where departments belong, the three rates, the chart data, the inspection's
dissatisfied tickets, and the response deadline on the ticket page and in the API."""

import json
import re

import pytest

from bot.ratings import Rating
from bot.staff import statistics
from bot.store import surveys
from bot.store.db import session_scope
from bot.store.tickets import find_by_number
from bot.store.workdays import local_today
from tests import test_staff_web
from tests.test_staff_web import login, resolve_road

# The console's fixtures: two tickets (a road's, the rubbish's) and the staff who work them.
people, client = test_staff_web.people, test_staff_web.client


def this_month() -> str:
    return statistics.Period.parse("").value


@pytest.mark.parametrize("page", ["dashboard", "inspection", "bulletin"])
@pytest.mark.parametrize("period", ["2026-13", "十一月", "2026-11-3", "<b>x</b>"])
async def test_a_bad_period_is_a_400_page_with_the_selector(client, people, page, period):
    await login(client, "sup")
    response = await client.get(f"/staff/{page}", params={"period": period})
    text = await response.text()
    assert response.status == 400 and response.content_type == "text/html"
    assert "无法显示这个期间" in text and "看不懂" in text and "<b>x</b>" not in text
    assert '<select name="period">' in text and f'value="{this_month()}"' in text


async def test_the_bulletin_is_monthly(client, people):
    await login(client, "sup")
    response = await client.get("/staff/bulletin", params={"period": f"{this_month()}-1"})
    assert response.status == 400 and "请选择一个月份" in await response.text()
    page = await (await client.get("/staff/bulletin")).text()
    assert f'<option value="{this_month()}" selected>' in page and f'value="{this_month()}-1"' not in page


async def test_the_dashboard_lists_departments_by_department_and_categories_by_category(client, people):
    await login(client, "sup")
    page = await (await client.get("/staff/dashboard", params={"period": this_month()})).text()
    table = page[page.index('class="queue stats rates"') : page.index("</table>")]
    assert "综合行政执法局（环卫）" in table and "交通运输局" in table
    assert "环境卫生" not in table and "道路与交通" not in table
    by_category = await (await client.get("/staff/dashboard", params={"by": "category"})).text()
    table = by_category[by_category.index('class="queue stats rates"') : by_category.index("</table>")]
    assert "环境卫生" in table and "道路与交通" in table and "交通运输局" not in table
    assert '<option value="category" selected>' in by_category


async def test_the_three_rates_and_the_charts_data_on_the_dashboard(client, people, sqlite_url):
    await login(client, "disp")
    await resolve_road(client, people)  # dispatched at once: answered in time, and solved
    with session_scope(sqlite_url) as db:
        surveys.record(db, find_by_number(db, people["road"]), Rating(4, ""), "chat", "resident")
    page = await (await client.get("/staff/dashboard")).text()
    rates = re.sub(r"<[^>]+>", "", page[page.index('class="three-rates"') :].split("</p>")[0])
    # 2 collected, 1 solved; the road answered in time, the rubbish not due yet; 1 of 1 satisfied
    assert "响应率 100%" in rates and "办结率 50%" in rates and "满意率 100%" in rates
    charts = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)[1])
    assert sum(charts["trend"]["collected"]) == 2 and sum(charts["trend"]["solved"]) == 1
    assert charts["satisfaction"] == {"labels": ["交通运输局"], "rates": [100.0], "answered": [1]}
    assert '<script src="/static/vendor/chart.umd.min.js">' in page and "<script>" not in page


async def test_the_inspection_lists_the_dissatisfied_and_no_longer_waits_for_surveys(client, people, sqlite_url):
    await login(client, "disp")
    await resolve_road(client, people)
    with session_scope(sqlite_url) as db:
        surveys.record(db, find_by_number(db, people["road"]), Rating(1, "灯还是不亮"), "chat", "resident")
    today = local_today()
    page = await (await client.get("/staff/inspection")).text()
    assert "上线后" not in page and "不满意重办 1 件" in page
    listed = page[page.index('class="card reopened"') :]
    assert people["road"] in listed and "非常不满意" in listed and "灯还是不亮" in listed
    assert f'<option value="{today:%Y-%m}-{1 if today.day <= 15 else 2}" selected>' in page


async def test_the_ticket_page_and_the_api_give_the_response_deadline(client, people):
    await login(client, "disp")
    page = await (await client.get(f"/staff/tickets/{people['road']}")).text()
    assert re.search(r"响应时限 \d{4}-\d\d-\d\d \d\d:\d\d", page)
