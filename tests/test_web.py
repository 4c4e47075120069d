"""The web app: the resident chat page and the health check."""

import io
import re

import pytest
from aiohttp import FormData
from PIL import Image

from bot.parsing import PHOTO_PATH
from bot.web.app import create_app
from tests.support.web import web_settings


@pytest.fixture
async def client(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(web_settings(sqlite_url, rasa_socket_path="/socket.io")))


async def test_chat_page_loads_its_assets_from_this_server(client):
    response = await client.get("/")
    assert response.status == 200
    page = await response.text()
    assert "民生小助手" in page and 'lang="zh-CN"' in page
    sources = [s for s in re.findall(r'(?:src|href)="([^"]+)"', page) if not s.startswith("data:")]
    assert sources and all(s.startswith("/static/") for s in sources), sources
    for source in sources:
        asset = await client.get(source)
        assert asset.status == 200, source
        assert len(await asset.read()) > 100


async def test_socket_io_client_is_served(client):
    response = await client.get("/static/vendor/socket.io.min.js")
    assert response.status == 200
    assert "io" in (await response.text())[:2000]


async def test_chat_script_never_renders_html_from_messages(client):
    script = await (await client.get("/static/chat.js")).text()
    assert "innerHTML" not in script and "textContent" in script


async def test_health_reports_the_database(client):
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_health_says_when_the_database_is_gone(aiohttp_client, tmp_path):
    broken = web_settings("postgresql://nobody@127.0.0.1:1/none")
    client = await aiohttp_client(create_app(broken))
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] == "error"


async def test_pages_carry_security_headers(client):
    response = await client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def png_bytes(size=(8, 8)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def photo_form(data, name="photo", filename="p.png", content_type="image/png"):
    form = FormData()
    form.add_field(name, data, filename=filename, content_type=content_type)
    return form


async def test_a_photo_is_stored_and_served(client):
    response = await client.post("/api/photos", data=photo_form(png_bytes()))
    assert response.status == 201
    url = (await response.json())["url"]
    assert PHOTO_PATH.match(url)
    served = await client.get(url)
    assert served.status == 200 and (await served.read()) == png_bytes()


@pytest.mark.parametrize(
    "data, field, status",
    [
        (b"<script>alert(1)</script>", "photo", 415),
        (b"GIF89a" + b"0" * 100, "photo", 415),
        (png_bytes(), "file", 400),
    ],
)
async def test_what_is_not_a_photo_is_refused(client, data, field, status):
    response = await client.post("/api/photos", data=photo_form(data, name=field))
    assert response.status == status
    assert "error" in await response.json()


async def test_a_huge_upload_is_refused(client):
    response = await client.post("/api/photos", data=photo_form(b"\x89PNG" + b"0" * (6 * 1024 * 1024)))
    assert response.status == 413


# ---------------------------------------------------------------- the chat page reopened

SESSION = "0123456789abcdef0123456789abcdef"
PHOTO = "/photos/" + "c" * 32 + ".jpg"
EVENTS = [
    {"event": "action", "name": "action_session_start"},
    {"event": "user", "text": "路灯不亮", "parse_data": {"intent": {"name": "report_problem"}}},
    {"event": "bot", "text": "问题出现在哪里？", "data": {}},
    {"event": "user", "text": f'/inform{{"photo_url":"{PHOTO}"}}', "parse_data": {"intent": {"name": "inform"}}},
    {"event": "user", "text": "/check_updates", "parse_data": {"intent": {"name": "check_updates"}}},
    {
        "event": "user",
        "text": "/affirm",
        "metadata": {"shown": "确认提交"},
        "parse_data": {"intent": {"name": "affirm"}},
    },
    {
        "event": "user",
        "text": '/share_location{"latitude":30.4,"longitude":106.6}',
        "parse_data": {"intent": {"name": "share_location"}},
    },
    {"event": "bot", "text": "请确认", "data": {"buttons": [{"title": "确认提交", "payload": "/affirm"}]}},
]


async def fake_rasa(aiohttp_server, events, status=200):
    from aiohttp import web

    async def tracker(request):
        assert request.query["token"]
        return web.json_response({"events": events}, status=status)

    app = web.Application()
    app.router.add_get("/conversations/{id}/tracker", tracker)
    return await aiohttp_server(app)


def test_the_transcript_shows_what_the_page_showed():
    from bot.web.chat import transcript

    assert transcript(EVENTS) == [
        {"who": "user", "text": "路灯不亮"},
        {"who": "bot", "text": "问题出现在哪里？", "buttons": []},
        {"who": "user", "photo": PHOTO},
        {"who": "user", "text": "确认提交"},
        {"who": "user", "text": "（发送了当前位置）"},
        {"who": "bot", "text": "请确认", "buttons": [{"title": "确认提交", "payload": "/affirm"}]},
    ]


async def test_a_reopened_chat_page_gets_its_conversation_and_tickets(
    aiohttp_client, aiohttp_server, sqlite_url, tmp_path, monkeypatch
):
    from bot import taxonomy
    from bot.store.db import session_scope
    from bot.store.tickets import NewReport, create_ticket

    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    rasa = await fake_rasa(aiohttp_server, EVENTS)
    client = await aiohttp_client(create_app(web_settings(sqlite_url, rasa_url=str(rasa.make_url("")).rstrip("/"))))
    with session_scope(sqlite_url) as session:
        mine, _ = create_ticket(session, NewReport("k1", SESSION, "路灯不亮", "roads"), taxonomy.load())
        create_ticket(session, NewReport("k2", "f" * 32, "别人的", "roads"), taxonomy.load())
        number = mine.number
    response = await client.get(f"/api/chat/{SESSION}/history")
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert [t["number"] for t in body["tickets"]] == [number] and body["tickets"][0]["status"] == "已受理"
    assert body["messages"][0] == {"who": "user", "text": "路灯不亮"} and body["transcript_available"]
    for bad in ("../../etc", "abc", SESSION.upper(), SESSION + "0"):
        assert (await client.get(f"/api/chat/{bad}/history")).status in (400, 404)


async def test_the_tickets_are_shown_even_when_rasa_is_down(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    client = await aiohttp_client(create_app(web_settings(sqlite_url, rasa_url="http://127.0.0.1:1")))
    body = await (await client.get(f"/api/chat/{SESSION}/history")).json()
    assert body == {"messages": [], "tickets": [], "transcript_available": False}
