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
