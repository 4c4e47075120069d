"""Sessions (a token in an encrypted cookie, the session itself in the store), the signed-in user,
CSRF tokens on every form, and the headers every response carries."""
from __future__ import annotations

import base64
import functools
import hmac
import os
import secrets
from pathlib import Path
from typing import Optional

from aiohttp import web
from aiohttp_session import get_session, setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.schema import User

SESSION_KEY = "staff_session"
COOKIE_NAME = "MINSHENG_STAFF"
DATABASE_URL_KEY = web.AppKey("database_url", str)
SECURE_COOKIE_KEY = web.AppKey("secure_cookie", bool)
CSRF_KEY = "csrf"


def secret_key(var_dir: Path) -> bytes:
    """MINSHENG_SECRET_KEY (32 bytes, url-safe base64), or one generated once into var/secret-key."""
    configured = os.environ.get("MINSHENG_SECRET_KEY")
    if configured:
        return base64.urlsafe_b64decode(configured)
    path = var_dir / "secret-key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another web app made it first
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)))
    return base64.urlsafe_b64decode(path.read_bytes())


def setup(app: web.Application, var_dir: Path, database_url: Optional[str], secure_cookie: bool = False) -> None:
    """`secure_cookie`: the console is served over HTTPS only (MINSHENG_WEB_PUBLIC_URL is https://…);
    otherwise the cookie is marked Secure whenever the request came over HTTPS."""
    if database_url:
        app[DATABASE_URL_KEY] = database_url
    app[SECURE_COOKIE_KEY] = secure_cookie
    setup_session(app, EncryptedCookieStorage(secret_key(var_dir), cookie_name=COOKIE_NAME, httponly=True,
                                              samesite="Lax", max_age=accounts.SESSION_HOURS * 3600,
                                              secure=secure_cookie))


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    return session[CSRF_KEY]


async def check_csrf(request: web.Request, form) -> None:
    session = await get_session(request)
    expected = session.get(CSRF_KEY)
    given = form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(str(expected), str(given)):
        raise web.HTTPForbidden(text="表单已过期或来源不明，请刷新页面后重试。")


async def session_token(request: web.Request) -> Optional[str]:
    token = (await get_session(request)).get(SESSION_KEY)
    return token if isinstance(token, str) else None


async def current_user(request: web.Request) -> Optional[User]:
    """The user of a session the store still holds open; None after logout, a password change, a
    deactivation or its expiry, whatever copy of the cookie is shown."""
    token = await session_token(request)
    if token is None:
        return None
    with session_scope(database_url_of(request)) as db:
        user = accounts.user_of_session(db, token)
        if user is None:
            return None
        db.expunge(user)
        return user


def database_url_of(request: web.Request) -> Optional[str]:
    return request.app.get(DATABASE_URL_KEY)


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


def content_security_policy(request: web.Request, rasa_origins: str = "") -> str:
    """Scripts, styles and images of this site only; the chat page may also talk to Rasa."""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            f"connect-src 'self' {rasa_origins}".rstrip() + "; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def harden(request: web.Request, response: web.StreamResponse, rasa_origins: str = "") -> None:
    """Headers every answer carries, error pages included; the session cookie goes out Secure
    over HTTPS."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy(request, rasa_origins))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        cookie = response.cookies.get(COOKIE_NAME)
        if cookie is not None:
            cookie["secure"] = True
