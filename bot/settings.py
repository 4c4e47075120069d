"""Every setting of the product, read from the environment (MINSHENG_*) in one place, checked once,
with working defaults so that `make run` needs nothing set. Nothing else in `bot/` reads
os.environ.

    settings = load()              # the current Settings (read again only if the environment changed)
    settings.ticket_prefix, settings.ports.web, settings.rasa_token(), …

`minsheng serve`, `minsheng run` and the web app call `load()` when they start, so a wrong value
stops them at once with a message naming the variable.

Secrets (the Rasa API token, the action server's shared secret, the session key) come from the
environment or from files generated once under var/, readable by the owner only: they never appear
on a command line."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Tuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import InvalidInput

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TAXONOMY = PROJECT_ROOT / "bot" / "taxonomy.yml"
DEFAULT_PLACES = PROJECT_ROOT / "bot" / "places.yml"

# Files the product creates are readable by its own user only (databases, uploads, logs, secrets).
PRIVATE_UMASK = 0o077
LOOPBACK = "127.0.0.1"
# The header Rasa sends the action server's shared secret in (endpoints.yml `headers`).
ACTIONS_SECRET_HEADER = "X-Minsheng-Action-Secret"
ACTIONS_SECRET_VARIABLE = "MINSHENG_ACTIONS_SECRET"
FIRST_ADMIN = "admin"


class SettingsError(InvalidInput):
    """One or more variables have values the product cannot use; the message names each."""


@dataclass(frozen=True)
class Ports:
    rasa: int = 5005
    actions: int = 5055
    web: int = 8000


@dataclass(frozen=True)
class Hosts:
    """The interface each process listens on: loopback unless configured otherwise."""

    rasa: str = LOOPBACK
    actions: str = LOOPBACK
    web: str = LOOPBACK


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    tracker_url: str
    lock_store_url: str  # "": Rasa's in-memory lock store (one Rasa process)
    ports: Ports
    hosts: Hosts
    rasa_url: str  # where the web app reaches Rasa's HTTP API
    rasa_public_url: str  # where browsers reach Rasa's socket.io ("": this host, Rasa's port)
    rasa_socket_path: str
    actions_url: str  # where Rasa reaches the action server
    action_timeout: float
    callback_url: str  # "": no callback channel
    web_public_url: str  # e.g. https://minsheng.example.gov.cn
    trusted_proxies: Tuple[str, ...]
    ticket_prefix: str
    timezone: str
    holidays: FrozenSet[dt.date]
    taxonomy_file: Path
    places_file: Path  # the district's gazetteer (街道 → 社区 → 小区, roads)
    gas_emergency_line: str  # the gas company's emergency number, told to a resident who smells gas
    category_confidence: float
    scheduler: bool
    scheduler_interval: float
    outbox_claim_seconds: int
    # Duplicate reports: open tickets filed within this many days are looked at, and a score at or
    # above the threshold (0..1, bot/store/duplicates.py) calls a new report "the same problem".
    duplicate_window_days: int = 7
    duplicate_threshold: float = 0.21
    # Whether a resident whose report matches an open ticket is asked to follow it (off: filed as is).
    duplicate_question: bool = True
    # Secrets given in the environment ("": generated once into var/).
    rasa_token_value: str = ""
    actions_secret_value: str = ""
    secret_key_value: str = ""

    # ---------------------------------------------------------------- derived

    @property
    def https_only(self) -> bool:
        """Served over HTTPS only: the staff cookie is always Secure."""
        return self.web_public_url.startswith("https://")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def web_origins(self) -> List[str]:
        """The only origins whose pages may call Rasa from a browser: the web app's own."""
        origins = [f"http://localhost:{self.ports.web}", f"http://127.0.0.1:{self.ports.web}"]
        if self.web_public_url:
            parts = urlsplit(self.web_public_url)
            origins.insert(0, f"{parts.scheme}://{parts.netloc}")
        return origins

    def log_dir(self) -> Path:
        path = self.var_dir / "log"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def first_admin_password_file(self) -> Path:
        """Where `minsheng run` keeps the generated password of the first admin until it is changed."""
        return self.var_dir / "admin-password"

    # ---------------------------------------------------------------- secrets

    def rasa_token(self) -> str:
        """MINSHENG_RASA_TOKEN, or a token generated once and kept in var/rasa-token."""
        return self.rasa_token_value or _generated(self.var_dir, "rasa-token", lambda: secrets.token_hex(24))

    def actions_secret(self) -> str:
        """The secret Rasa shows the action server: MINSHENG_ACTIONS_SECRET, or var/actions-secret."""
        return self.actions_secret_value or _generated(self.var_dir, "actions-secret", lambda: secrets.token_hex(24))

    def secret_key(self) -> bytes:
        """The staff cookie's key: MINSHENG_SECRET_KEY (32 bytes, url-safe base64), or var/secret-key."""
        encoded = self.secret_key_value or _generated(
            self.var_dir, "secret-key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        )
        return base64.urlsafe_b64decode(encoded)

    # ---------------------------------------------------------------- reading the environment

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        problems: List[str] = []
        get = environ.get

        def number(name: str, default: str, kind=int, low: float = 0, high: float = float("inf")):
            raw = get(name) or default
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not a number")
                return kind(default)
            if not low <= value <= high:
                problems.append(f"{name}={raw!r} is outside {low:g}…{high:g}")
                return kind(default)
            return value

        var = Path(get("MINSHENG_VAR_DIR") or PROJECT_ROOT / "var")
        ports = Ports(
            rasa=number("MINSHENG_RASA_PORT", "5005", int, 1, 65535),
            actions=number("MINSHENG_ACTIONS_PORT", "5055", int, 1, 65535),
            web=number("MINSHENG_WEB_PORT", "8000", int, 1, 65535),
        )
        hosts = Hosts(
            rasa=get("MINSHENG_RASA_HOST") or LOOPBACK,
            actions=get("MINSHENG_ACTIONS_HOST") or LOOPBACK,
            web=get("MINSHENG_WEB_HOST") or LOOPBACK,
        )
        database_url = get("MINSHENG_DATABASE_URL") or f"sqlite:///{var / 'minsheng.db'}"
        timezone = get("MINSHENG_TIMEZONE") or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"MINSHENG_TIMEZONE={timezone!r} is not a time zone (e.g. Asia/Shanghai)")
            timezone = "Asia/Shanghai"
        holidays = set()
        for day in filter(None, (d.strip() for d in (get("MINSHENG_HOLIDAYS") or "").split(","))):
            try:
                holidays.add(dt.date.fromisoformat(day))
            except ValueError:
                problems.append(f"MINSHENG_HOLIDAYS: {day!r} is not a date (YYYY-MM-DD)")
        prefix = (get("MINSHENG_TICKET_PREFIX") or "MS").upper()
        if not re.fullmatch(r"[A-Z]{1,8}", prefix):
            problems.append(f"MINSHENG_TICKET_PREFIX={prefix!r} must be 1 to 8 letters")
            prefix = "MS"
        taxonomy_file = Path(get("MINSHENG_TAXONOMY_FILE") or DEFAULT_TAXONOMY)
        if not taxonomy_file.is_file():
            problems.append(f"MINSHENG_TAXONOMY_FILE={str(taxonomy_file)!r} is not a file")
            taxonomy_file = DEFAULT_TAXONOMY
        places_file = Path(get("MINSHENG_PLACES_FILE") or DEFAULT_PLACES)
        if not places_file.is_file():
            problems.append(f"MINSHENG_PLACES_FILE={str(places_file)!r} is not a file")
            places_file = DEFAULT_PLACES
        gas_line = (get("MINSHENG_GAS_EMERGENCY_LINE") or "").strip()
        if gas_line and not re.fullmatch(r"[0-9][0-9-]{2,19}", gas_line):
            problems.append(f"MINSHENG_GAS_EMERGENCY_LINE={gas_line!r} is not a telephone number")
            gas_line = ""
        web_public_url = (get("MINSHENG_WEB_PUBLIC_URL") or "").rstrip("/")
        for name, url in (
            ("MINSHENG_WEB_PUBLIC_URL", web_public_url),
            ("MINSHENG_RASA_PUBLIC_URL", get("MINSHENG_RASA_PUBLIC_URL") or ""),
        ):
            if url and urlsplit(url).scheme not in ("http", "https"):
                problems.append(f"{name}={url!r} must start with http:// or https://")
        scheduler = (get("MINSHENG_SCHEDULER") or "on").lower()
        if scheduler not in ("on", "off"):
            problems.append(f"MINSHENG_SCHEDULER={scheduler!r} must be on or off")
        secret_key = get("MINSHENG_SECRET_KEY") or ""
        if secret_key:
            try:
                if len(base64.urlsafe_b64decode(secret_key)) != 32:
                    raise ValueError
            except ValueError:
                problems.append("MINSHENG_SECRET_KEY must be 32 bytes in url-safe base64")
        settings = cls(
            var_dir=var,
            database_url=database_url,
            tracker_url=get("MINSHENG_TRACKER_URL") or f"sqlite:///{var / 'rasa-trackers.db'}",
            lock_store_url=get("MINSHENG_LOCK_STORE_URL") or "",
            ports=ports,
            hosts=hosts,
            rasa_url=(get("MINSHENG_RASA_URL") or f"http://127.0.0.1:{ports.rasa}").rstrip("/"),
            rasa_public_url=get("MINSHENG_RASA_PUBLIC_URL") or "",
            rasa_socket_path=get("MINSHENG_RASA_SOCKET_PATH") or "/socket.io",
            actions_url=get("MINSHENG_ACTIONS_URL") or f"http://127.0.0.1:{ports.actions}/webhook",
            action_timeout=number("MINSHENG_ACTION_TIMEOUT", "20", float, 1, 300),
            callback_url=get("MINSHENG_CALLBACK_URL") or "",
            web_public_url=web_public_url,
            trusted_proxies=tuple(p.strip() for p in (get("MINSHENG_TRUSTED_PROXIES") or "").split(",") if p.strip()),
            ticket_prefix=prefix,
            timezone=timezone,
            holidays=frozenset(holidays),
            taxonomy_file=taxonomy_file,
            places_file=places_file,
            gas_emergency_line=gas_line,
            category_confidence=number("MINSHENG_CATEGORY_CONFIDENCE", "0.5", float, 0, 1),
            scheduler=scheduler != "off",
            scheduler_interval=number("MINSHENG_SCHEDULER_INTERVAL", "5", float, 0.1, 3600),
            outbox_claim_seconds=number("MINSHENG_OUTBOX_CLAIM_SECONDS", "60", int, 1, 86400),
            duplicate_window_days=number("MINSHENG_DUPLICATE_WINDOW_DAYS", "7", int, 1, 365),
            duplicate_threshold=number("MINSHENG_DUPLICATE_THRESHOLD", "0.21", float, 0, 1),
            duplicate_question=(get("MINSHENG_DUPLICATE_QUESTION") or "on") != "off",
            rasa_token_value=get("MINSHENG_RASA_TOKEN") or "",
            actions_secret_value=get(ACTIONS_SECRET_VARIABLE) or "",
            secret_key_value=secret_key,
        )
        if problems:
            raise SettingsError("; ".join(problems))
        return settings

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


_cache: Dict[Tuple[Tuple[str, str], ...], Settings] = {}


def load() -> Settings:
    """The settings of the current environment, read and checked once per distinct environment."""
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("MINSHENG_")))
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = Settings.from_env(os.environ)
    return found


def _generated(var_dir: Path, filename: str, make) -> str:
    """A secret kept in var/<filename> (0600), made once; another process making it at the same
    moment is fine."""
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = var_dir / filename
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
    return path.read_text().strip()


# ---------------------------------------------------------------- the process around the settings


def private_files() -> None:
    """From here on, everything this process creates is 0600 / 0700."""
    os.umask(PRIVATE_UMASK)


def lock_down_var_dir(settings: Settings) -> Path:
    """var/ and everything in it readable by the owner only (files made by older versions too)."""
    root = settings.var_dir
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
    return root


def prepare_process() -> Settings:
    """What every product process does first: private files, settings checked, telemetry off."""
    private_files()
    settings = load()
    lock_down_var_dir(settings)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    return settings


def give_rasa_the_actions_secret(settings: Settings) -> None:
    """Rasa's endpoints file names ${MINSHENG_ACTIONS_SECRET}: it must be in Rasa's environment."""
    os.environ[ACTIONS_SECRET_VARIABLE] = settings.actions_secret()


def child_environment(**extra: str) -> Dict[str, str]:
    """The environment for a child process (a tool run by the product): this one's, plus `extra`."""
    return {**os.environ, **extra}


def forget_first_admin_password(username: str) -> None:
    """Once the first admin's password is changed, the file with the old one goes."""
    if username == FIRST_ADMIN:
        load().first_admin_password_file().unlink(missing_ok=True)


def var_dir() -> Path:
    """var/ of the current settings, made (0700) when missing."""
    path = load().var_dir
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
