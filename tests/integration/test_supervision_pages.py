"""The supervision pages in Debian's Chromium, on a desktop and on a phone: the period chosen from
the selector, a bad period answered 400, departments listed, the charts drawn with the figures of
the page, the inspection's dissatisfied tickets, and the bulletin on paper."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from bot import taxonomy
from bot.ratings import Rating
from bot.staff import statistics
from bot.staff.accounts import create_user
from bot.store import states, surveys
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.tickets import NewReport, create_ticket, transition
from tests.support.browser import chromium as launch_chromium
from tests.support.browser import web_app_alone
from tests.support.stack import ROOT

pytestmark = pytest.mark.integration
DOCS = ROOT / "docs" / "screenshots"
PASSWORD = "supervisor-password"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# (category, urgency, words, day of the month, hours to dispatch or None, verdict or None)
REPORTS = [
    ("roads", "hazard", "建设路井盖丢了，晚上很危险", 2, 2, 4),
    ("roads", "normal", "人民路口红绿灯不亮", 3, 30, 5),
    ("roads", "normal", "公交站牌被撞歪了", 9, 50, 2),
    ("roads", "normal", "幸福路路面坑洼积水", 16, None, None),
    ("sanitation", "normal", "小区垃圾三天没人收", 4, 3, 3),
    ("sanitation", "normal", "公厕没有水冲", 11, 5, 1),
    ("sanitation", "normal", "建筑垃圾堆在路边", 20, 1, None),
    ("noise_pollution", "normal", "夜间施工太吵睡不着", 6, 4, 5),
    ("noise_pollution", "normal", "饭店油烟扰民", 13, 80, 4),
    ("greening", "hazard", "大树倒在人行道上", 8, 1, 5),
    ("greening", "normal", "枯树没人修剪", 22, None, None),
    ("building", "normal", "楼道瓷砖往下掉", 17, 6, 2),
]


def last_month() -> statistics.Period:
    first = statistics.Period.parse("").start
    before = first - dt.timedelta(days=1)
    return statistics.Period.month(before.year, before.month)


def seed(url: str, month: statistics.Period) -> dict:
    """A month of work: reports on several days, dispatched sooner or later, resolved, rated."""
    upgrade(url)
    tax = taxonomy.load()
    reopened = []
    with session_scope(url) as db:
        create_user(db, "chen", PASSWORD, "supervisor")
        for i, (category, urgency, words, day, hours, verdict) in enumerate(REPORTS):
            created = dt.datetime.combine(month.start.replace(day=day), dt.time(2))
            ticket, _ = create_ticket(db, NewReport(f"m-{i}", f"m-{i}", words, category, urgency), tax, now=created)
            if hours is None:
                continue
            when = created + dt.timedelta(hours=hours)
            transition(db, ticket, states.DISPATCHED, "dispatcher:wang", now=when)
            if verdict is None:
                continue
            resolved = when + dt.timedelta(days=2)
            transition(db, ticket, states.RESOLVED, "department:zhao", note="已处理", now=resolved)
            surveys.open_survey(db, ticket, now=resolved)
            rated = resolved + dt.timedelta(hours=3)
            surveys.record(
                db, ticket, Rating(verdict, "还是老样子" if verdict < 3 else ""), "chat", "resident", now=rated
            )
            if verdict < 3:
                reopened.append((ticket.number, rated))
    return {"reopened": reopened}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """The web app alone (`python -m bot.web`) on a store holding last month's work."""
    var = tmp_path_factory.mktemp("supervision-var")
    url = f"sqlite:///{var / 'minsheng.db'}"
    month = last_month()
    os.environ["MINSHENG_DATABASE_URL"] = url
    try:
        seeded = seed(url, month)
    finally:
        os.environ.pop("MINSHENG_DATABASE_URL", None)
    with web_app_alone(url, var) as base:
        yield {"base": base, "month": month, "url": url, **seeded}


@pytest.fixture(scope="module")
def chromium():
    with launch_chromium() as launched:
        yield launched


def signed_in(chromium, console, viewport):
    page = chromium.new_page(viewport=viewport)
    page.goto(f"{console['base']}/staff/login")
    page.fill("input[name=username]", "chen")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header .who")
    return page


# What a chart holds, and how many of its pixels are painted: a blank canvas has none.
CHART_STATE = """canvas => {
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  return {
    labels: chart.data.labels,
    datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data})),
    legend: chart.legend.legendItems.map(item => item.text),
    axes: Object.values(chart.scales).map(scale => scale.options.title.text),
    width: canvas.width, painted: painted, size: canvas.width * canvas.height
  };
}"""


def chart(page, name):
    canvas = page.wait_for_selector(f"canvas[data-chart={name}][data-drawn]")
    return canvas.evaluate(CHART_STATE)


def table_rows(page, selector):
    return [
        [cell.strip() for cell in row.split("\t")] for row in page.locator(f"{selector} tbody tr").all_inner_texts()
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_dashboard_with_its_period_departments_and_charts(chromium, console, viewport):
    page = signed_in(chromium, console, viewport)
    month = console["month"]
    page.goto(f"{console['base']}/staff/dashboard")
    page.select_option("select[name=period]", month.value)
    page.click(".period-form button")
    page.wait_for_url(f"**period={month.value}**")
    assert f"{month.label}：收集 {len(REPORTS)} 件" in page.inner_text("h1")
    rows = {row[0]: row for row in table_rows(page, "table.rates")}
    names = {d.name for d in taxonomy.load().departments.values()}
    assert {"交通运输局", "综合行政执法局（环卫）", "生态环境局", "园林绿化局", "住建局"} <= set(rows)
    assert set(rows) <= names | {"合计"}  # departments, not categories such as 环境卫生
    assert rows["交通运输局"][1:3] == ["4", "2"]  # collected, solved (two closed after a good verdict)
    assert rows["合计"][3] == "4"  # 办理中: dispatched (1) and reopened (3); not the two never dispatched

    trend = chart(page, "trend")
    assert trend["legend"] == ["收集", "办结"] and trend["axes"] == ["周（周一起）", "件数"]
    collected = dict(zip(trend["labels"], trend["datasets"][0]["data"]))
    assert sum(collected.values()) == len(REPORTS) and trend["painted"] > trend["size"] // 100
    satisfaction = chart(page, "satisfaction")
    rates = dict(zip(satisfaction["labels"], satisfaction["datasets"][0]["data"]))
    # 交通运输局: 满意 + 非常满意 of three verdicts; 住建局: its one verdict 不满意
    assert rates["交通运输局"] == pytest.approx(66.7) and rates["住建局"] == 0 and rates["园林绿化局"] == 100
    assert satisfaction["axes"] == ["满意率（%）", "部门"] and satisfaction["painted"] > satisfaction["size"] // 100
    if viewport is DESKTOP:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "staff-dashboard.png"), full_page=True)
        page.locator("section.charts").screenshot(path=str(DOCS / "staff-charts.png"))
    else:  # nothing wider than the phone
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1

    response = page.goto(f"{console['base']}/staff/dashboard?period=2026-13")
    assert response.status == 400
    assert "看不懂" in page.inner_text(".period-error") and page.locator("select[name=period] option").count() > 12
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_inspection_lists_the_dissatisfied_of_the_half_month(chromium, console, viewport):
    page = signed_in(chromium, console, viewport)
    month = console["month"]
    page.goto(f"{console['base']}/staff/inspection")
    for half, second in ((f"{month.value}-1", False), (f"{month.value}-2", True)):
        page.select_option("select[name=period]", half)
        page.click(".period-form button")
        page.wait_for_url(f"**period={half}**")
        start, end = statistics.Period.half_month(month.start.year, month.start.month, second).bounds()
        expected = [number for number, rated in console["reopened"] if start <= rated < end]
        listed = page.inner_text("section.reopened")
        assert all(number in listed for number in expected)
        assert f"重新办理的工单：{len(expected)} 件" in listed
        assert "上线后" not in page.inner_text("main")
    assert page.goto(f"{console['base']}/staff/inspection?period=2026-11-9").status == 400
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_bulletin_for_the_screen_and_for_paper(chromium, console, viewport, tmp_path):
    page = signed_in(chromium, console, viewport)
    month = console["month"]
    page.goto(f"{console['base']}/staff/bulletin")
    options = page.locator("select[name=period] option").all_inner_texts()
    assert options and all("半月" not in o for o in options)  # a monthly bulletin
    page.select_option("select[name=period]", month.value)
    page.click(".period-form button")
    page.wait_for_url(f"**period={month.value}**")
    assert f"{month.label}民生诉求办理情况通报" in page.inner_text("h1")
    assert "响应率" in page.inner_text("table.rates thead") and "满意率" in page.inner_text("table.rates thead")
    assert sum(chart(page, "trend")["datasets"][0]["data"]) == len(REPORTS)
    page.emulate_media(media="print")
    assert not page.locator(".period-form").is_visible() and not page.locator("header.top").is_visible()
    printed = chart(page, "satisfaction")
    assert printed["painted"] > printed["size"] // 100 and page.locator("canvas[data-chart=trend]").is_visible()
    if viewport is DESKTOP:
        page.screenshot(path=str(DOCS / "staff-bulletin.png"), full_page=True)
        pdf = tmp_path / "bulletin.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    assert page.goto(f"{console['base']}/staff/bulletin?period={month.value}-2").status == 400
    page.close()
