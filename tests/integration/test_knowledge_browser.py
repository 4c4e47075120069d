"""The knowledge base in the staff console, in Debian's Chromium on a desktop and on a phone: the
list with its sample entries, writing an entry from residents' questions, a form refused and kept,
publishing, the history. Only the web app runs."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import taxonomy
from bot.staff.accounts import create_user
from bot.store import knowledge
from bot.store.db import session_scope
from bot.store.knowledge import EntryDraft
from bot.store.migrate import upgrade
from bot.store.schema import KnowledgeEntry, KnowledgeQuestion
from tests.support.browser import chromium as launch_chromium
from tests.support.browser import web_app_alone
from tests.support.scratch import free_port
from tests.support.stack import ROOT

pytestmark = pytest.mark.integration
DOCS = ROOT / "docs" / "screenshots"
PASSWORD = "staff-password"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SAMPLES = (
    ("物业费怎么交？", "可以到小区物业服务中心前台缴纳，也可以通过物业公众号在线缴费。", "property", True),
    ("垃圾几点可以投放？", "各小区定时定点投放：早上7点至9点，晚上6点至8点。", "sanitation", True),
    (
        "停水停电的通知在哪里看？",
        "停水、停电、停气通知会在供水、供电、燃气公司的公众号和小区公告栏发布。",
        "utilities",
        True,
    ),
    (
        "居住证要带什么材料？",
        "身份证、近期照片和居住地的房屋租赁合同或住房证明，到社区警务室办理。",
        "public_services",
        False,
    ),
)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    var = tmp_path_factory.mktemp("knowledge-var")
    url = f"sqlite:///{var / 'minsheng.db'}"
    upgrade(url)
    tax = taxonomy.load()
    with session_scope(url) as db:
        create_user(db, "wang", PASSWORD, "dispatcher", display_name="王丽")
        for question, answer, category, published in SAMPLES:
            draft = EntryDraft(question=question, answer=answer, category_id=category, published=published)
            knowledge.create(db, draft, tax, "admin:admin", sample=True)
    nobody = f"http://127.0.0.1:{free_port()}"
    with web_app_alone(url, var, MINSHENG_RASA_URL=nobody) as base:
        yield {"base": base, "url": url}


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as launched:
        yield launched


def signed_in(browser, console, viewport):
    page = browser.new_page(viewport=viewport)
    page.goto(f"{console['base']}/staff/login")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("table.queue")
    return page


def residents_ask(console, *texts):
    with session_scope(console["url"]) as db:
        for text in texts:
            knowledge.record_question(db, text, knowledge.UNANSWERED, conversation_id="c", now=dt.datetime.utcnow())


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_an_entry_is_written_from_residents_questions_and_published(console, browser, device):
    viewport = VIEWPORTS[device]
    dog = "犬只" if device == "desktop" else "狗狗"
    residents_ask(console, f"{dog}登记要带什么材料", f"{dog}登记需要哪些材料", f"给{dog}登记要带什么证件材料？")
    page = signed_in(browser, console, viewport)
    page.click("nav.nav a:has-text('知识库')")
    page.wait_for_selector("table.kb-list")
    assert page.locator("tr.kb-row", has_text="物业费怎么交").locator(".badge.sample").inner_text() == "示例内容"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # nothing to scroll sideways
    if device == "phone":
        assert page.locator("table.kb-list thead").is_hidden()
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / ("knowledge.png" if device == "desktop" else "knowledge-phone.png")))

    page.click("text=居民问题待完善")
    group = page.locator("tr.question-group", has_text=f"{dog}登记")
    assert "3" in group.locator("td.count").inner_text()
    group.locator("a", has_text="据此新建条目").click()
    question = page.locator("input[name=question]").input_value()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # the form fits too
    assert f"{dog}登记" in question and len(page.locator("textarea[name=phrasings]").input_value().splitlines()) == 2
    page.select_option("select[name=category]", "safety")
    page.click("form.kb-form button[type=submit]")  # no answer yet: refused, what was typed kept
    assert page.locator("input[name=question]").input_value() == question
    page.locator("textarea[name=answer]").evaluate("box => box.removeAttribute('required')")
    page.click("form.kb-form button[type=submit]")
    assert "请填写答案" in page.inner_text(".banner.error")
    assert page.locator("select[name=category]").input_value() == "safety"
    page.fill("textarea[name=answer]", "带上身份证、犬只免疫证明和犬只照片，到辖区派出所办理登记。")
    page.click("form.kb-form button[type=submit]")
    assert page.inner_text(".banner.done") == "已新建"
    page.click("form.kb-publish button")
    assert "已发布" in page.inner_text(".banner.done")
    history = page.inner_text("ol.kb-history")
    assert "王丽" in history and "发布" in history and "新建" in history
    page.goto(f"{console['base']}/staff/knowledge/questions")
    assert f"{dog}登记" not in page.inner_text("main")
    with session_scope(console["url"]) as db:
        entry = db.query(KnowledgeEntry).filter(KnowledgeEntry.question == question).one()
        assert entry.published and entry.department_id == "police_fire"
        assert db.query(KnowledgeQuestion).filter(KnowledgeQuestion.covered_by_id == entry.id).count() == 3
    page.close()
