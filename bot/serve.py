"""`minsheng serve rasa|actions|web`: one process of the product, configured from the environment.

`minsheng run` starts the three of them; a process supervisor (deploy/) starts each on its own.
Every process listens on 127.0.0.1 unless MINSHENG_<PART>_HOST says otherwise, creates files only
its own user can read, and takes its secrets from the environment or from var/ — never from its
command line, which any local user can read in /proc."""

from __future__ import annotations

import hmac
import logging
import sys
import threading
from typing import List, Optional

from bot import settings as settings_module
from bot.settings import ACTIONS_SECRET_HEADER, PROJECT_ROOT, Settings

MODEL = PROJECT_ROOT / "bot" / "models" / "minsheng.tar.gz"
PARTS = ("actions", "rasa", "web")


def actions_app(settings: Settings):
    """rasa-sdk's action server, answering only requests that carry the shared secret."""
    from rasa_sdk.endpoint import create_app
    from sanic import response

    app = create_app("bot.actions", cors_origins=None)
    secret = settings.actions_secret().encode()

    @app.middleware("request")
    async def only_rasa(request):
        if request.path == "/health":
            return None
        given = request.headers.get(ACTIONS_SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return app


def serve_actions(settings: Settings, host: str, port: int) -> None:
    from bot.actions import backend

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    threading.Thread(target=backend.warm_up_answers, name="knowledge-warm-up", daemon=True).start()
    actions_app(settings).run(host=host, port=port, workers=1, access_log=False)


def rasa_arguments(settings: Settings, host: str, port: int) -> List[str]:
    """The arguments of `rasa run`, the token included: they stay inside this process."""
    from bot.endpoints import write_credentials, write_endpoints

    endpoints = write_endpoints(settings.var_dir / "endpoints.yml", settings)
    credentials = write_credentials(
        settings.var_dir / "credentials.yml", settings.callback_url or None, settings.wechat.enabled
    )
    return [
        "run",
        "--model",
        str(MODEL),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials),
        "--interface",
        host,
        "--port",
        str(port),
        "--enable-api",
        f"--auth-token={settings.rasa_token()}",  # "=": a token may begin with "-"
        "--cors",
        *settings.web_origins(),
    ]


def serve_rasa(settings: Settings, host: str, port: int) -> None:
    from bot import rasa_patches

    settings_module.give_rasa_the_actions_secret(settings)  # endpoints.yml reads it
    settings_module.give_rasa_its_tensorflow_threads()
    rasa_patches.apply(settings.action_timeout)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *rasa_arguments(settings, host, port)]
    rasa_main()


def serve_web(settings: Settings, host: str, port: int) -> None:
    from bot.web.app import main as web_main

    web_main(["--host", host, "--port", str(port)])


def serve(part: str, host: Optional[str] = None, port: Optional[int] = None) -> None:
    settings = settings_module.prepare_process()
    host = host or getattr(settings.hosts, part)
    port = port or getattr(settings.ports, part)
    {"actions": serve_actions, "rasa": serve_rasa, "web": serve_web}[part](settings, host, port)
