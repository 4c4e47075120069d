"""Web-app settings from the environment, with defaults that work for `make run`."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

from bot import settings


@dataclass(frozen=True)
class WebConfig:
    database_url: Optional[str]
    # Where the browser finds Rasa's socket.io channel; empty means "this host, Rasa's port".
    rasa_public_url: str
    rasa_socket_path: str
    rasa_port: int = 5005
    # The scheduled jobs and the outbox deliverer (bot/notify); off for a web app that only serves pages.
    scheduler: bool = False
    # Load balancers whose X-Forwarded-For / -Proto are believed (then every request must come through one).
    trusted_proxies: Tuple[str, ...] = ()
    # Served over HTTPS only (MINSHENG_WEB_PUBLIC_URL is https://…): the session cookie is always Secure.
    https_only: bool = False

    @classmethod
    def from_env(cls) -> "WebConfig":
        return cls(
            database_url=os.environ.get("MINSHENG_DATABASE_URL") or None,
            rasa_public_url=os.environ.get("MINSHENG_RASA_PUBLIC_URL", ""),
            rasa_socket_path=os.environ.get("MINSHENG_RASA_SOCKET_PATH", "/socket.io"),
            rasa_port=int(os.environ.get("MINSHENG_RASA_PORT", "5005")),
            scheduler=os.environ.get("MINSHENG_SCHEDULER", "on") != "off",
            trusted_proxies=settings.trusted_proxies(),
            https_only=settings.web_public_url().startswith("https://"),
        )
