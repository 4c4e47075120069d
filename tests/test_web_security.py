"""Attacks on the web app, each performed over HTTP: guessing passwords, reusing a cookie after
logout, reading phone numbers a role must not see, decompression bombs, spreadsheet formulas,
framing and sniffing of error pages, cookies over HTTPS."""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib

import pytest
from aiohttp import FormData
from openpyxl import load_workbook

from bot import taxonomy
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.tickets import NewReport, create_ticket
from bot.web.app import create_app
from tests.support.web import web_settings

PASSWORD = "long-enough-pw"
COOKIE = "MINSHENG_STAFF"


def config(url, **extra):
    return web_settings(url, **extra)


@pytest.fixture
def people(sqlite_url):
    with session_scope(sqlite_url) as db:
        accounts.create_user(db, "disp", PASSWORD, "dispatcher")
        accounts.create_user(db, "sup", PASSWORD, "supervisor")
        ticket, _ = create_ticket(
            db,
            NewReport(
                "r",
                "c1",
                "路灯坏了，有事打我电话13912345678",
                "roads",
                location="人民路88号（门卫电话 13700001111）",
                detail="晚上联系 139-1234-5678",
                phone="13812345678",
            ),
            taxonomy.load(),
        )
        tokens = {name: accounts.issue_token(db, name) for name in ("disp", "sup")}
        return {"number": ticket.number, **tokens}


@pytest.fixture
async def client(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(config(sqlite_url)))


@pytest.fixture
async def behind_proxy(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    """The web app behind a load balancer on 127.0.0.1, which forwards the client's address and scheme."""
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(config(sqlite_url, trusted_proxies=("127.0.0.1",))))


async def csrf_of(client, path, headers=None):
    page = await (await client.get(path, headers=headers)).text()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def login(client, username, password=PASSWORD, headers=None):
    token = await csrf_of(client, "/staff/login", headers)
    return await client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/staff/"},
        headers=headers,
        allow_redirects=False,
    )


# ---------------------------------------------------------------- passwords and sessions


def more_failures(url, username, addr, count=3):
    """Failures as a guesser who kept going would have left them (the waits are seconds long)."""
    from bot.store.schema import LoginFailure, utcnow

    with session_scope(url) as db:
        for _ in range(count):
            db.add(LoginFailure(username=username, remote_addr=addr, at=utcnow()))


async def test_guessing_a_password_slows_the_guesser_down_but_never_locks_the_user_out(
    behind_proxy, people, sqlite_url
):
    attacker, desk = {"X-Forwarded-For": "203.0.113.5"}, {"X-Forwarded-For": "198.51.100.1"}
    for _ in range(accounts.FREE_FAILURES):
        assert (await login(behind_proxy, "disp", "guess", attacker)).status == 401
    with session_scope(sqlite_url) as db:  # counted for this name from this address
        assert accounts.wait_needed(db, "disp", "203.0.113.5") <= 1
    more_failures(sqlite_url, "disp", "203.0.113.5")
    throttled = await login(behind_proxy, "disp", PASSWORD, attacker)
    assert throttled.status == 429 and "秒后再试" in await throttled.text()
    behind_proxy.session.cookie_jar.clear()
    assert (await login(behind_proxy, "disp", PASSWORD, desk)).status == 302  # the real user, elsewhere


async def test_a_cookie_saved_before_logout_no_longer_works(client, people, aiohttp_client):
    assert (await login(client, "disp")).status == 302
    saved = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    assert (await client.get("/staff/", allow_redirects=False)).status == 200
    await client.post("/staff/logout", data={"csrf_token": await csrf_of(client, "/staff/")})
    replayed = await client.get("/staff/", headers={"Cookie": f"{COOKIE}={saved}"}, allow_redirects=False)
    assert replayed.status == 302 and replayed.headers["Location"].startswith("/staff/login")


async def test_a_password_change_ends_every_other_session(client, people, aiohttp_client, sqlite_url, tmp_path):
    laptop = await aiohttp_client(create_app(config(sqlite_url)))
    await login(client, "disp")
    await login(laptop, "disp")
    token = await csrf_of(client, "/staff/password")
    wrong = await client.post(
        "/staff/password",
        data={"current": "nope-nope", "new": "new-password-1", "repeated": "new-password-1", "csrf_token": token},
    )
    assert wrong.status == 400 and "当前密码不对" in await wrong.text()
    changed = await client.post(
        "/staff/password",
        data={"current": PASSWORD, "new": "new-password-1", "repeated": "new-password-1", "csrf_token": token},
    )
    assert changed.status == 200 and "密码已修改" in await changed.text()
    assert (await client.get("/staff/", allow_redirects=False)).status == 200  # this browser stays in
    assert (await laptop.get("/staff/", allow_redirects=False)).status == 302  # the other one is out
    laptop.session.cookie_jar.clear()
    assert (await login(laptop, "disp")).status == 401
    assert (await login(laptop, "disp", "new-password-1")).status == 302


async def test_a_borrowed_session_cannot_guess_the_password_through_the_change_form(client, people, sqlite_url):
    await login(client, "disp")
    token = await csrf_of(client, "/staff/password")

    async def change(current):
        response = await client.post(
            "/staff/password",
            data={"current": current, "new": "new-password-1", "repeated": "new-password-1", "csrf_token": token},
        )
        return await response.text()

    for guess in ("guess-one", "guess-two", "guess-three"):
        assert "当前密码不对" in await change(guess)
    more_failures(sqlite_url, "disp", "127.0.0.1")
    assert "秒后再试" in await change(PASSWORD)  # counted like logins: even the right one waits


async def test_a_deactivated_user_is_out_everywhere_and_their_api_tokens_stop(client, people, sqlite_url):
    await login(client, "disp")
    bearer = {"Authorization": f"Bearer {people['disp']}"}
    assert (await client.get("/api/v1/tickets", headers=bearer)).status == 200
    with session_scope(sqlite_url) as db:
        accounts.deactivate(db, "disp")
    assert (await client.get("/staff/", allow_redirects=False)).status == 302
    assert (await client.get("/api/v1/tickets", headers=bearer)).status == 401


# ---------------------------------------------------------------- phone numbers


async def test_a_supervisor_never_sees_a_phone_number_typed_into_the_words(client, people):
    number, phones = people["number"], ("13912345678", "13700001111", "139-1234-5678", "13812345678")
    await login(client, "sup")
    page = await (await client.get(f"/staff/tickets/{number}")).text()
    queue = await (await client.get("/staff/")).text()
    exported = (await (await client.get("/staff/export.csv")).read()).decode("utf-8-sig")
    book = load_workbook(io.BytesIO(await (await client.get("/staff/export.xlsx")).read()))
    xlsx = " ".join(str(c.value) for row in book.active.iter_rows() for c in row)
    api = await (
        await client.get(f"/api/v1/tickets/{number}", headers={"Authorization": f"Bearer {people['sup']}"})
    ).text()
    for seen in (page, queue, exported, xlsx, api):
        assert "139****5678" in seen
        assert not any(phone in seen for phone in phones), seen[:500]
    client.session.cookie_jar.clear()
    await login(client, "disp")  # the dispatcher rings residents back: full numbers
    page = await (await client.get(f"/staff/tickets/{number}")).text()
    assert "13912345678" in page and "13700001111" in page and "13812345678" in page


# ---------------------------------------------------------------- uploads


def png_claiming(width, height):
    """A few hundred bytes whose header claims a picture of width × height pixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("width, height", [(30000, 30000), (9000, 9000)])
async def test_a_decompression_bomb_is_refused_with_a_reason(client, width, height):
    form = FormData()
    form.add_field("photo", png_claiming(width, height), filename="bomb.png", content_type="image/png")
    response = await client.post("/api/photos", data=form)
    assert response.status == 413 and "像素" in (await response.json())["error"]


@pytest.mark.parametrize(
    "body, headers",
    [
        (b"", {}),
        (b"", {"Content-Type": "multipart/form-data; boundary=xyz"}),
        (b"just some text", {"Content-Type": "text/plain"}),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="photo"\r\n\r\n--xyz--\r\n',
            {"Content-Type": "multipart/form-data; boundary=xyz"},
        ),
        (b"garbage", {"Content-Type": "multipart/form-data"}),
    ],
)
async def test_an_empty_or_malformed_upload_gets_a_reason_not_a_500(client, body, headers):
    response = await client.post("/api/photos", data=body, headers=headers)
    assert 400 <= response.status < 500
    assert (await response.json())["error"]


# ---------------------------------------------------------------- exports


@pytest.mark.parametrize(
    "words", [" =1+2", '\t=HYPERLINK("http://evil.example")', "\r@SUM(1)", "\n-2+3", "＝1+1", "  +cmd|' /C calc'!A0"]
)
async def test_a_formula_hidden_behind_whitespace_is_not_run_by_a_spreadsheet(client, people, sqlite_url, words):
    with session_scope(sqlite_url) as db:
        create_ticket(db, NewReport("f", "c2", words, "roads", location=words), taxonomy.load())
    await login(client, "disp")
    core = words.strip(" \t\r\n\u3000")
    rows = list(csv.reader(io.StringIO((await (await client.get("/staff/export.csv")).read()).decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row if core in cell]
    assert len(cells) == 2 and all(cell.startswith("'") for cell in cells), cells  # description and place
    book = load_workbook(io.BytesIO(await (await client.get("/staff/export.xlsx")).read()))
    found = [c for row in book.active.iter_rows() for c in row if isinstance(c.value, str) and core in c.value]
    assert len(found) == 2 and all(c.value.startswith("'") and c.data_type == "s" for c in found)


# ---------------------------------------------------------------- headers and cookies


@pytest.mark.parametrize(
    "path, method",
    [
        ("/", "GET"),
        ("/no/such/page", "GET"),
        ("/staff/login", "GET"),
        ("/staff/tickets/MS-20260101-0001/dispatch", "POST"),
        ("/api/v1/tickets", "GET"),
        ("/healthz", "GET"),
    ],
)
async def test_every_answer_carries_the_security_headers(client, path, method):
    response = await client.request(method, path, allow_redirects=False)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy


async def test_the_chat_page_may_talk_to_rasa_and_nothing_else(client):
    policy = (await client.get("/")).headers["Content-Security-Policy"]
    connect = re.search(r"connect-src ([^;]+)", policy).group(1).split()
    assert connect[0] == "'self'" and all(":5005" in source for source in connect[1:]) and len(connect) == 3


async def test_the_session_cookie_is_secure_over_https(behind_proxy, people):
    https = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
    response = await behind_proxy.get("/staff/login", headers=https)
    assert "secure" in response.headers["Set-Cookie"].lower()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = await behind_proxy.get("/staff/login", headers={"X-Forwarded-For": "198.51.100.1"})
    assert "secure" not in plain.headers["Set-Cookie"].lower()


async def test_a_forged_forwarded_address_from_an_untrusted_peer_is_refused(
    aiohttp_client, sqlite_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    app = await aiohttp_client(create_app(config(sqlite_url, trusted_proxies=("10.9.9.9",))))
    response = await app.get("/staff/login", headers={"X-Forwarded-For": "198.51.100.1"})
    assert response.status == 400  # not from the load balancer: its headers are not believed
    assert (await app.get("/healthz")).status == 200


async def test_https_only_marks_the_cookie_secure_always(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    app = await aiohttp_client(create_app(config(sqlite_url, web_public_url="https://minsheng.example.gov.cn")))
    assert "secure" in (await app.get("/staff/login")).headers["Set-Cookie"].lower()


async def test_the_first_admins_password_file_goes_once_the_password_is_changed(client, sqlite_url, tmp_path):
    with session_scope(sqlite_url) as db:
        accounts.create_user(db, "admin", "generated-first-pw", "admin")
    kept = tmp_path / "admin-password"
    kept.write_text("generated-first-pw\n")
    await login(client, "admin", "generated-first-pw")
    token = await csrf_of(client, "/staff/password")
    await client.post(
        "/staff/password",
        data={
            "current": "generated-first-pw",
            "new": "chosen-by-admin",
            "repeated": "chosen-by-admin",
            "csrf_token": token,
        },
    )
    assert not kept.exists()
