"""Process-wide settings from the environment (MINSHENG_*), with embedded defaults.

Secrets (the Rasa API token, the action server's shared secret, the session key) come from the
environment or from files generated once under var/, which only the owner may read: they never
appear on a command line."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple
from urllib.parse import urlsplit

from bot.store.db import PROJECT_ROOT, database_url

# Files the product creates are readable by its own user only (databases, uploads, logs, secrets).
PRIVATE_UMASK = 0o077
LOOPBACK = "127.0.0.1"
# The header Rasa sends the action server's shared secret in (endpoints.yml `headers`).
ACTIONS_SECRET_HEADER = "X-Minsheng-Action-Secret"


def private_files() -> None:
    """From here on, everything this process creates is 0600 / 0700."""
    os.umask(PRIVATE_UMASK)


def var_dir() -> Path:
    path = Path(os.environ.get("MINSHENG_VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def lock_down_var_dir() -> Path:
    """var/ and everything in it readable by the owner only (files made by older versions too)."""
    root = var_dir()
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
    return root


def _secret(variable: str, filename: str) -> str:
    """The environment's value, or a random hex token generated once into var/<filename> (0600)."""
    value = os.environ.get(variable)
    if value:
        return value
    path = var_dir() / filename
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(24))
    return path.read_text().strip()


FIRST_ADMIN = "admin"


def first_admin_password_file() -> Path:
    """Where `minsheng run` keeps the generated password of the first admin until it is changed."""
    return var_dir() / "admin-password"


def forget_first_admin_password(username: str) -> None:
    """Once the first admin's password is changed, the file with the old one goes."""
    if username == FIRST_ADMIN:
        first_admin_password_file().unlink(missing_ok=True)


def rasa_token() -> str:
    """MINSHENG_RASA_TOKEN, or a token generated once and kept in var/rasa-token."""
    return _secret("MINSHENG_RASA_TOKEN", "rasa-token")


def actions_secret() -> str:
    """The secret Rasa shows the action server: MINSHENG_ACTIONS_SECRET, or var/actions-secret."""
    return _secret("MINSHENG_ACTIONS_SECRET", "actions-secret")


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


@dataclass(frozen=True)
class Hosts:
    """The interface each process listens on: loopback unless configured otherwise."""
    rasa: str
    actions: str
    web: str

    @classmethod
    def from_env(cls) -> "Hosts":
        return cls(
            rasa=os.environ.get("MINSHENG_RASA_HOST") or LOOPBACK,
            actions=os.environ.get("MINSHENG_ACTIONS_HOST") or LOOPBACK,
            web=os.environ.get("MINSHENG_WEB_HOST") or LOOPBACK,
        )


def rasa_url() -> str:
    """Where the web app reaches the Rasa server's HTTP API."""
    return os.environ.get("MINSHENG_RASA_URL") or f"http://127.0.0.1:{Ports.from_env().rasa}"


def actions_url() -> str:
    """Where Rasa reaches the action server."""
    return os.environ.get("MINSHENG_ACTIONS_URL") or f"http://127.0.0.1:{Ports.from_env().actions}/webhook"


def action_timeout() -> float:
    """Seconds Rasa waits for the action server before telling the resident to try again."""
    return float(os.environ.get("MINSHENG_ACTION_TIMEOUT", "20"))


def web_public_url() -> str:
    """The address residents and staff use for the web app (e.g. https://minsheng.example.gov.cn)."""
    return (os.environ.get("MINSHENG_WEB_PUBLIC_URL") or "").rstrip("/")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def web_origins() -> List[str]:
    """The only origins whose pages may call Rasa from a browser: the web app's own."""
    port = Ports.from_env().web
    origins = [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    if web_public_url():
        origins.insert(0, _origin(web_public_url()))
    return origins


def trusted_proxies() -> Tuple[str, ...]:
    """Addresses of the load balancers whose X-Forwarded-For / -Proto the web app believes."""
    raw = os.environ.get("MINSHENG_TRUSTED_PROXIES", "")
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def tracker_store_url() -> str:
    """Rasa's tracker store: MINSHENG_TRACKER_URL, else a SQLite file beside the tickets."""
    return os.environ.get("MINSHENG_TRACKER_URL") or f"sqlite:///{var_dir() / 'rasa-trackers.db'}"


def callback_url() -> str:
    """MINSHENG_CALLBACK_URL turns on Rasa's callback channel, posting answers to this URL."""
    return os.environ.get("MINSHENG_CALLBACK_URL", "")


def log_dir() -> Path:
    path = var_dir() / "log"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def ticket_database_url() -> str:
    return database_url()
