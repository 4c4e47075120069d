"""Sessions in an encrypted cookie, the signed-in user, and CSRF tokens on every form."""
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

from bot.store.db import session_scope
from bot.store.schema import User

USER_KEY = "user_id"
DATABASE_URL_KEY = web.AppKey("database_url", str)
CSRF_KEY = "csrf"


def secret_key(var_dir: Path) -> bytes:
    """MINSHENG_SECRET_KEY (32 bytes, url-safe base64), or one generated once into var/secret-key."""
    configured = os.environ.get("MINSHENG_SECRET_KEY")
    if configured:
        return base64.urlsafe_b64decode(configured)
    path = var_dir / "secret-key"
    if not path.exists():
        path.write_bytes(base64.urlsafe_b64encode(secrets.token_bytes(32)))
        path.chmod(0o600)
    return base64.urlsafe_b64decode(path.read_bytes())


def setup(app: web.Application, var_dir: Path, database_url: Optional[str]) -> None:
    if database_url:
        app[DATABASE_URL_KEY] = database_url
    setup_session(app, EncryptedCookieStorage(secret_key(var_dir), cookie_name="MINSHENG_STAFF",
                                              httponly=True, samesite="Lax", max_age=12 * 3600))


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


async def current_user(request: web.Request) -> Optional[User]:
    session = await get_session(request)
    user_id = session.get(USER_KEY)
    if user_id is None:
        return None
    with session_scope(database_url_of(request)) as db:
        user = db.get(User, user_id)
        if user is None or not user.active:
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
    return request.remote or ""
