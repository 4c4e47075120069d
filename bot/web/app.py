"""Builds the web application."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_remotes import XForwardedStrict
from sqlalchemy import text

from bot import settings
from bot.notify.rasa_api import RasaApi
from bot.notify.scheduler import Scheduler
from bot.settings import var_dir
from bot.store.db import get_engine
from bot.web.config import WebConfig
from bot.web.photos import MAX_BYTES, VAR_DIR_KEY, photo_dir, upload_photo
from bot.web.staff import security as staff_security
from bot.web.api import routes as api_routes
from bot.web.staff.views import routes as staff_routes

HERE = Path(__file__).parent
CONFIG_KEY = web.AppKey("config", WebConfig)
SCHEDULER_KEY = web.AppKey("scheduler", asyncio.Task)


@aiohttp_jinja2.template("chat.html")
async def chat_page(request: web.Request) -> dict:
    config = request.app[CONFIG_KEY]
    return {"rasa_url": config.rasa_public_url, "socket_path": config.rasa_socket_path, "rasa_port": config.rasa_port}


async def healthz(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    try:
        with get_engine(config.database_url).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # the probe reports any failure rather than raising it
        logging.getLogger(__name__).warning("health check: database unavailable: %s", error)
        return web.json_response({"status": "unavailable", "database": "error"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


def rasa_origins(request: web.Request) -> str:
    """Where the chat page's socket.io connection goes, for the Content-Security-Policy."""
    config = request.app[CONFIG_KEY]
    if config.rasa_public_url:
        parts = urlsplit(config.rasa_public_url)
        socket_scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{parts.scheme}://{parts.netloc} {socket_scheme}://{parts.netloc}"
    host = urlsplit("//" + (request.host or "localhost")).hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.rasa_port} ws://{host}:{config.rasa_port}"


@web.middleware
async def security_headers(request: web.Request, handler):
    """Every answer carries them: pages, JSON, error pages (403/404) and the 500 page."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        staff_security.harden(request, error, rasa_origins(request))
        raise
    except Exception:
        logging.getLogger(__name__).exception("%s %s failed", request.method, request.path)
        response = web.Response(status=500, text="服务器出错了，请稍后再试。", content_type="text/plain",
                                charset="utf-8")
    staff_security.harden(request, response, rasa_origins(request))
    return response


async def start_scheduler(app: web.Application) -> None:
    scheduler = Scheduler(RasaApi(settings.rasa_url(), settings.rasa_token()))
    app[SCHEDULER_KEY] = asyncio.create_task(scheduler.run_forever())


async def stop_scheduler(app: web.Application) -> None:
    task = app.get(SCHEDULER_KEY)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(config: Optional[WebConfig] = None) -> web.Application:
    config = config or WebConfig.from_env()
    middlewares = [security_headers]
    if config.trusted_proxies:  # behind a load balancer: the client's address and scheme as it forwarded them
        middlewares.insert(0, XForwardedStrict([set(config.trusted_proxies)], white_paths=["/healthz"]).middleware)
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BYTES + 64 * 1024)
    app[CONFIG_KEY] = config
    app[VAR_DIR_KEY] = var_dir()
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    app.router.add_get("/", chat_page, name="chat")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_static("/static/", HERE / "static", name="static")
    app.router.add_post("/api/photos", upload_photo, name="upload_photo")
    app.router.add_static("/photos/", photo_dir(app[VAR_DIR_KEY]), name="photos")
    staff_security.setup(app, app[VAR_DIR_KEY], config.database_url, secure_cookie=config.https_only)
    app.router.add_get("/staff", lambda request: web.HTTPFound("/staff/"))
    app.router.add_routes(staff_routes)
    app.router.add_routes(api_routes)
    if app[CONFIG_KEY].scheduler:
        app.on_startup.append(start_scheduler)
        app.on_cleanup.append(stop_scheduler)
    return app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Minsheng web app")
    parser.add_argument("--host", default=settings.Hosts.from_env().web)
    parser.add_argument("--port", type=int, default=settings.Ports.from_env().web)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(create_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
