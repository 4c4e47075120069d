"""Builds the web application from the settings: the chat page, the staff console, the JSON API,
health; one Rasa client and (optionally) the scheduler living as long as the app; every error of
bot/errors.py answered in one place; security headers on every answer."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import AsyncIterator, Optional

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_remotes import XForwardedStrict
from sqlalchemy import text

from bot import settings as settings_module
from bot.errors import MinshengError
from bot.notify.rasa_api import RasaApi
from bot.notify.scheduler import Scheduler
from bot.settings import Settings
from bot.store.db import get_engine
from bot.web.api import routes as api_routes
from bot.web.chat import routes as chat_routes
from bot.web.context import EXPORTS, RASA, SETTINGS, ExportProcess, settings_of
from bot.web.photos import MAX_BYTES, VAR_DIR_KEY, photo_dir, upload_photo
from bot.web.staff import security as staff_security
from bot.web.staff.knowledge import routes as knowledge_routes
from bot.web.staff.similar import routes as similar_routes
from bot.web.staff.views import routes as staff_routes
from bot.web.staff.worklist import routes as worklist_routes

HERE = Path(__file__).parent
logger = logging.getLogger(__name__)


@aiohttp_jinja2.template("chat.html")
async def chat_page(request: web.Request) -> dict:
    settings = settings_of(request)
    return {
        "rasa_url": settings.rasa_public_url,
        "socket_path": settings.rasa_socket_path,
        "rasa_port": settings.ports.rasa,
    }


def _database_answers(url: str) -> None:
    with get_engine(url).connect() as connection:
        connection.execute(text("SELECT 1"))


async def healthz(request: web.Request) -> web.Response:
    try:
        await asyncio.to_thread(_database_answers, settings_of(request).database_url)
    except Exception as error:  # the probe reports any failure rather than raising it
        logger.warning("health check: database unavailable: %s", error)
        return web.json_response({"status": "unavailable", "database": "error"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def to_the_console(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/staff/")


@web.middleware
async def security_headers(request: web.Request, handler):
    """Every answer carries them: pages, JSON, error pages (403/404) and the 500 page."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        staff_security.harden(request, error)
        raise
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        response = web.Response(
            status=500, text="服务器出错了，请稍后再试。", content_type="text/plain", charset="utf-8"
        )
    staff_security.harden(request, response)
    return response


@web.middleware
async def answer_errors(request: web.Request, handler):
    """Any error of the product's hierarchy becomes its HTTP status with its message: JSON for
    the API, plain words for the console."""
    try:
        return await handler(request)
    except MinshengError as error:
        if request.path.startswith("/api/"):
            return web.json_response({"error": error.message}, status=error.status)
        return web.Response(status=error.status, text=error.message, content_type="text/plain", charset="utf-8")


async def rasa_client(app: web.Application) -> AsyncIterator[None]:
    """One HTTP session to Rasa for the app's life (the scheduler's pushes, filing's classification)."""
    settings = app[SETTINGS]
    app[RASA] = RasaApi(settings.rasa_url, settings.rasa_token())
    await app[RASA].open()
    yield
    await app[RASA].close()


async def scheduler(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(Scheduler(app[RASA], app[SETTINGS]).run_forever())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def export_process(app: web.Application) -> AsyncIterator[None]:
    app[EXPORTS] = ExportProcess()
    yield
    await app[EXPORTS].close()


async def warm_export_process(app: web.Application) -> AsyncIterator[None]:
    """The served app's first export does not wait for the process to import its code."""
    app[EXPORTS].warm()
    yield


def create_app(settings: Optional[Settings] = None) -> web.Application:
    settings = settings or settings_module.load()
    middlewares = [security_headers, answer_errors]
    if settings.trusted_proxies:  # behind a load balancer: the client's address and scheme as it forwarded them
        middlewares.insert(0, XForwardedStrict([set(settings.trusted_proxies)], white_paths=["/healthz"]).middleware)
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BYTES + 64 * 1024)
    app[SETTINGS] = settings
    app[VAR_DIR_KEY] = settings.var_dir
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    app.router.add_get("/", chat_page, name="chat")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_static("/static/", HERE / "static", name="static")
    app.router.add_post("/api/photos", upload_photo, name="upload_photo")
    app.router.add_static("/photos/", photo_dir(settings.var_dir), name="photos")
    staff_security.setup(app, settings.secret_key(), secure_cookie=settings.https_only)
    app.router.add_get("/staff", to_the_console)
    app.router.add_routes(staff_routes)
    app.router.add_routes(worklist_routes)
    app.router.add_routes(similar_routes)
    app.router.add_routes(knowledge_routes)
    app.router.add_routes(api_routes)
    app.router.add_routes(chat_routes)
    app.cleanup_ctx.append(rasa_client)
    app.cleanup_ctx.append(export_process)
    if settings.scheduler:
        app.cleanup_ctx.append(scheduler)
    return app


def main(argv=None) -> None:
    settings = settings_module.load()
    parser = argparse.ArgumentParser(description="Minsheng web app")
    parser.add_argument("--host", default=settings.hosts.web)
    parser.add_argument("--port", type=int, default=settings.ports.web)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Pages answered while another works in a worker thread wait for the interpreter up to the
    # switch interval each time they want it back (after each query, each read from the socket):
    # 1 ms, not Python's default 5 ms (50 staff's p95 214 ms, not 258, with exports in a thread).
    sys.setswitchinterval(0.001)
    app = create_app(settings)
    app.cleanup_ctx.append(warm_export_process)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
