"""Process-wide settings from the environment (MINSHENG_*), with embedded defaults."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.store.db import PROJECT_ROOT, database_url


def var_dir() -> Path:
    path = Path(os.environ.get("MINSHENG_VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def rasa_token() -> str:
    """MINSHENG_RASA_TOKEN, or a token generated once and kept in var/rasa-token."""
    token = os.environ.get("MINSHENG_RASA_TOKEN")
    if token:
        return token
    path = var_dir() / "rasa-token"
    if not path.exists():
        path.write_text(secrets.token_hex(24))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Ports:
    rasa: int
    actions: int
    web: int

    @classmethod
    def from_env(cls) -> "Ports":
        return cls(
            rasa=int(os.environ.get("MINSHENG_RASA_PORT", "5005")),
            actions=int(os.environ.get("MINSHENG_ACTIONS_PORT", "5055")),
            web=int(os.environ.get("MINSHENG_WEB_PORT", "8000")),
        )


def rasa_url() -> str:
    """Where the web app reaches the Rasa server's HTTP API."""
    return os.environ.get("MINSHENG_RASA_URL") or f"http://127.0.0.1:{Ports.from_env().rasa}"


def tracker_store_url() -> str:
    """Rasa's tracker store: MINSHENG_TRACKER_URL, else a SQLite file beside the tickets."""
    return os.environ.get("MINSHENG_TRACKER_URL") or f"sqlite:///{var_dir() / 'rasa-trackers.db'}"


def ticket_database_url() -> str:
    return database_url()
