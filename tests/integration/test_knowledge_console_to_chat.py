"""An entry written and published in the staff console answers the next resident who asks on the
chat page — the real Rasa server, action server and web app, no restart, no retraining — in Debian's
Chromium."""

from __future__ import annotations

import pytest

from bot.staff.accounts import create_user
from bot.store.db import session_scope
from tests.support.browser import chromium as launch_chromium

pytestmark = pytest.mark.integration
PASSWORD = "staff-password"
QUESTION = "社区图书室周末开门吗？"
ANSWER = "社区图书室周六、周日9:00至17:00开放，周一闭馆；凭身份证可免费办理借书证。"


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as launched:
        yield launched


def ask_on_chat_page(browser, stack, text):
    page = browser.new_page(viewport={"width": 430, "height": 900})
    page.goto(f"{stack.web_url}/")
    page.wait_for_selector("#status:has-text('已连接')", timeout=30000)
    before = page.locator(".msg--bot").count()
    page.fill("#message", text)
    page.press("#message", "Enter")
    page.wait_for_function("n => document.querySelectorAll('.msg--bot').length > n", arg=before, timeout=60000)
    page.wait_for_timeout(1500)  # the rest of the same answer
    answer = "\n".join(page.locator(".msg--bot").all_inner_texts()[before:])
    page.close()
    return answer


def test_an_entry_published_in_the_console_is_answered_on_the_chat_page(stack, browser):
    with session_scope() as db:
        create_user(db, "kb-editor", PASSWORD, "dispatcher", display_name="赵敏")
    assert "9:00至17:00" not in ask_on_chat_page(browser, stack, "想问一下社区图书室周末几点开门")

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{stack.web_url}/staff/login")
    page.fill("input[name=username]", "kb-editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("table.queue")
    page.goto(f"{stack.web_url}/staff/knowledge/new")
    page.fill("input[name=question]", QUESTION)
    page.fill("textarea[name=phrasings]", "图书室周末开不开\n周六能去图书室借书吗")
    page.fill("textarea[name=answer]", ANSWER)
    page.select_option("select[name=category]", "public_services")
    page.click("form.kb-form button[type=submit]")
    assert page.inner_text(".banner.done") == "已新建"
    page.click("form.kb-publish button")
    assert "已发布" in page.inner_text(".banner.done")
    page.close()

    answer = ask_on_chat_page(browser, stack, "想问一下社区图书室周末几点开门")
    assert "9:00至17:00" in answer and "这个回答对您有帮助吗" in answer
    traditional = ask_on_chat_page(browser, stack, "想問一下社區圖書室週末幾點開門")
    assert "9:00至17:00" in traditional and "這個回答對您有幫助嗎" in traditional
