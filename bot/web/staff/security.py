"""Sessions (a token in an encrypted cookie, the session itself in the store), the signed-in user,
CSRF protection of every form (one middleware), and the headers every response carries."""

from __future__ import annotations

import functools
import hmac
import secrets
from typing import Optional
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from bot.staff import accounts
from bot.store.schema import User
from bot.web.context import db, settings_of

SESSION_KEY = "staff_session"
COOKIE_NAME = "MINSHENG_STAFF"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"


def setup(app: web.Application, secret_key: bytes, secure_cookie: bool = False) -> None:
    """`secure_cookie`: the console is served over HTTPS only (MINSHENG_WEB_PUBLIC_URL is https://…);
    otherwise the cookie is marked Secure whenever the request came over HTTPS. The CSRF check runs
    inside the session's middleware."""
    setup_session(
        app,
        EncryptedCookieStorage(
            secret_key,
            cookie_name=COOKIE_NAME,
            httponly=True,
            samesite="Lax",
            max_age=accounts.SESSION_HOURS * 3600,
            secure=secure_cookie,
        ),
    )
    app.middlewares.append(csrf_protection)


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    return session[CSRF_KEY]


@web.middleware
async def csrf_protection(request: web.Request, handler):
    """Every form posted to the console carries the session's CSRF token (the JSON API uses bearer
    tokens, not cookies, and the photo upload changes no one's data)."""
    if request.method == "POST" and request.path.startswith("/staff/"):
        form = await request.post()
        expected = (await get_session(request)).get(CSRF_KEY)
        given = form.get(CSRF_FIELD, "")
        if not expected or not hmac.compare_digest(str(expected), str(given)):
            raise web.HTTPForbidden(text="表单已过期或来源不明，请刷新页面后重试。")
    return await handler(request)


async def session_token(request: web.Request) -> Optional[str]:
    token = (await get_session(request)).get(SESSION_KEY)
    return token if isinstance(token, str) else None


async def current_user(request: web.Request) -> Optional[User]:
    """The user of a session the store still holds open; None after logout, a password change, a
    deactivation or its expiry, whatever copy of the cookie is shown."""
    token = await session_token(request)
    if token is None:
        return None

    def find(session) -> Optional[User]:
        user = accounts.user_of_session(session, token)
        if user is not None:
            session.expunge(user)
        return user

    return await db(request, find)


def login_required(handler):
    @functools.wraps(handler)
    async def wrapper(request: web.Request):
        user = await current_user(request)
        if user is None:
            raise web.HTTPFound(f"/staff/login?next={request.rel_url}")
        request["user"] = user
        return await handler(request)

    return wrapper


def remote_addr(request: web.Request) -> str:
    """The client's address (behind MINSHENG_TRUSTED_PROXIES, the one they forwarded)."""
    return request.remote or ""


def content_security_policy(rasa_origins: str = "") -> str:
    """Scripts, styles and images of this site only; the chat page may also talk to Rasa."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self' {rasa_origins}".rstrip()
        + "; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


def rasa_origins(request: web.Request) -> str:
    """Where the chat page's socket.io connection goes."""
    settings = settings_of(request)
    if settings.rasa_public_url:
        parts = urlsplit(settings.rasa_public_url)
        return f"{parts.scheme}://{parts.netloc} {'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    host = urlsplit("//" + (request.host or "localhost")).hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    port = settings.ports.rasa
    return f"http://{host}:{port} ws://{host}:{port}"


def harden(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every answer carries, error pages included; the session cookie goes out Secure
    over HTTPS."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy(rasa_origins(request)))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        cookie = response.cookies.get(COOKIE_NAME)
        if cookie is not None:
            cookie["secure"] = True
