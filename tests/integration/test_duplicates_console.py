"""The console's "可能重复" panel, the merge it offers, and the hot spots (热点问题) — in Debian's
Chromium, on a desktop and on a phone, against the real web app on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import taxonomy
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.schema import utcnow
from bot.store.tickets import NewReport, create_ticket
from bot.store.workdays import local_today
from tests.integration.test_run import DOCS, browser  # noqa: F401  (the browser fixture)
from tests.support.scratch import free_port, scratch_database
from tests.support.stack import Stack

pytestmark = pytest.mark.integration
PASSWORD = "console-password"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

REPORTS = [
    # (key, conversation, words, place, category, hours ago) — all within the current month
    ("lamp-1", "resident-1", "锦绣江南4栋门口的路灯坏了好几天了，晚上黑漆漆的", "锦绣江南4栋门口", "roads", 1),
    ("lamp-2", "resident-2", "4栋楼下那盏路灯坏了，晚上出门看不见路", "锦绣江南小区4栋", "roads", 0),
    ("lamp-3", "resident-3", "锦绣江南2栋门口路灯坏了，很黑", "锦绣江南2栋", "roads", 0),
    ("lift", "resident-4", "锦绣江南4栋电梯又停了，老人上不去楼", "锦绣江南4栋", "building", 0),
    ("water-1", "resident-5", "红星小区停水两天了，一直没有通知", "红星小区", "utilities", 2),
    ("water-2", "resident-6", "红星小区停水两天了，问物业也说不清楚", "红星小区", "utilities", 1),
]


@pytest.fixture(scope="module")
def console(trained_model, tmp_path_factory):
    """The web app alone (no chat needed) on a store with reports of the same problems."""
    from bot.store.migrate import upgrade

    with scratch_database("minsheng_console_dupes") as url:
        upgrade(url)
        numbers = {}
        with session_scope(url) as db:
            accounts.create_user(db, "dup-wang", PASSWORD, "dispatcher")
            accounts.create_user(db, "dup-chen", PASSWORD, "supervisor")
            now = utcnow()
            # The reports of the page's default period (this month), even at the start of a month.
            month_start = dt.datetime.combine(local_today().replace(day=1), dt.time()) + dt.timedelta(hours=12)
            now = max(now, month_start)
            for key, conversation, words, place, category, hours in REPORTS:
                ticket, _ = create_ticket(
                    db,
                    NewReport(key, conversation, words, category, location=place),
                    taxonomy.load(),
                    now=now - dt.timedelta(hours=hours, minutes=len(numbers)),
                )
                numbers[key] = ticket.number
        var = tmp_path_factory.mktemp("console-dupes-var")
        ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
        stack = Stack(var, url, trained_model, ports)
        stack.start("web")
        try:
            yield {"base": stack.web_url, "numbers": numbers}
        finally:
            stack.stop()


def log_in(page, base, name):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header .who")


def fits_the_screen(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_possible_duplicates_are_shown_and_merged(console, browser, viewport):  # noqa: F811
    base, numbers = console["base"], console["numbers"]
    page = browser.new_page(viewport=viewport)
    log_in(page, base, "dup-wang")
    newest = numbers["lamp-2"] if viewport is DESKTOP else numbers["water-2"]
    original = numbers["lamp-1"] if viewport is DESKTOP else numbers["water-1"]
    page.goto(f"{base}/staff/tickets/{newest}")
    page.wait_for_selector("#duplicates[data-loaded=true]")
    panel = page.locator("#duplicates")
    rows = panel.locator("tr.duplicate-candidate")
    assert rows.count() == 1 and original in rows.first.inner_text()  # not the lift, not another building
    assert "%" in rows.first.locator(".score").inner_text()
    assert fits_the_screen(page)
    if viewport is DESKTOP:
        DOCS.mkdir(parents=True, exist_ok=True)
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(DOCS / "staff-duplicates.png"), full_page=True)

    rows.first.locator("form.merge button").click()
    page.wait_for_selector("h1 .status")
    assert "并单" in page.inner_text("h1 .status")
    assert f"并入 {original}" in page.inner_text(".history")

    page.goto(f"{base}/staff/tickets/{original}")
    page.wait_for_selector("#duplicates[data-loaded=true]")
    assert "关注居民（1 位）" in page.inner_text("#duplicates")
    assert "并入本单，1 位居民转为关注本单" in page.inner_text(".history")
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_hot_spots_rank_the_same_problems_and_link_to_their_tickets(console, browser, viewport):  # noqa: F811
    base, numbers = console["base"], console["numbers"]
    page = browser.new_page(viewport=viewport)
    log_in(page, base, "dup-chen")  # a supervisor reads them
    page.goto(f"{base}/staff/hotspots")
    rows = page.locator("tr.hotspot")
    assert rows.count() >= 2
    first = rows.first.inner_text()
    assert "锦绣江南" in first and "道路与交通" in first and "新出现" in first
    assert "红星小区" in page.inner_text(".hotspots-table")
    assert "电梯" not in page.inner_text(".hotspots-table")  # one report is not a hot spot
    if viewport is DESKTOP:
        page.screenshot(path=str(DOCS / "staff-hotspots.png"), full_page=True)
    rows.first.locator("summary").click()
    links = rows.first.locator(".hotspot-tickets a")
    assert {links.nth(i).inner_text() for i in range(links.count())} >= {numbers["lamp-1"], numbers["lamp-3"]}
    assert fits_the_screen(page)
    links.first.click()
    page.wait_for_selector("h1 .status")

    page.goto(f"{base}/staff/dashboard")
    page.wait_for_selector("#hotspots[data-loaded=true]")
    section = page.inner_text("#hotspots")
    assert "锦绣江南" in section and "红星小区" in section
    page.click("#hotspots .more a")
    page.wait_for_selector("tr.hotspot")
    page.goto(f"{base}/staff/bulletin")
    page.wait_for_selector("#hotspots[data-loaded=true]")
    assert "锦绣江南" in page.inner_text("#hotspots")
    page.goto(f"{base}/staff/hotspots?month=2020-01&half=2")
    assert "2020年1月下半月" in page.inner_text("h1") and "没有两件以上" in page.inner_text(".card")
    page.close()
