"""Writes the endpoints and credentials files Rasa runs with, from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional

import yaml
from sqlalchemy.engine import make_url

from bot.settings import ACTIONS_SECRET_HEADER, ACTIONS_SECRET_VARIABLE, Settings


def tracker_store_config(url: str) -> Dict[str, Any]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"type": "SQL", "dialect": "sqlite", "db": parsed.database}
    config = {
        "type": "SQL",
        "dialect": parsed.drivername,
        "url": parsed.host or "localhost",
        "db": parsed.database,
    }
    if parsed.port:
        config["port"] = parsed.port
    if parsed.username:
        config["username"] = parsed.username
    if parsed.password:
        config["password"] = parsed.password
    return config


def endpoints(action_url: str, tracker_url: str, lock_store_url: str = "") -> Dict[str, Any]:
    config: Dict[str, Any] = {
        # The action server's shared secret is read from Rasa's environment when it starts, so it
        # is in no file but var/actions-secret.
        "action_endpoint": {
            "url": action_url,
            "headers": {ACTIONS_SECRET_HEADER: "${" + ACTIONS_SECRET_VARIABLE + "}"},
        },
        "nlg": {"type": "bot.nlg.ScriptAwareNLG"},
        "tracker_store": tracker_store_config(tracker_url),
    }
    redis_url = lock_store_url  # e.g. redis://127.0.0.1:6379/1; none: Rasa's in-memory lock store
    if redis_url:
        parsed = make_url(redis_url)
        config["lock_store"] = {
            "type": "redis",
            "url": parsed.host or "localhost",
            "port": parsed.port or 6379,
            "db": int(parsed.database or 0),
        }
        if parsed.password:
            config["lock_store"]["password"] = parsed.password
    return config


def write_endpoints(path: Path, settings: Settings) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    config = endpoints(settings.actions_url, settings.tracker_url, settings.lock_store_url)
    _write_whole(path, yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def _write_whole(path: Path, text: str) -> None:
    """Replaces the file in one step: Rasa replicas starting together each write it, and none may
    read another's half-written copy."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def credentials(callback_url: Optional[str], wechat: bool = False) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        "bot.channels.rest.RestInput": None,
        "bot.channels.socketio.SocketIOInput": {
            "user_message_evt": "user_uttered",
            "bot_message_evt": "bot_uttered",
            "session_persistence": True,
        },
    }
    if callback_url:
        config["bot.channels.callback.CallbackInput"] = {"url": callback_url}
    if wechat:  # its secrets stay in the environment (bot/settings.py WeChat)
        config["bot.channels.wechat.WeChatInput"] = None
    return config


def write_credentials(path: Path, callback_url: Optional[str] = None, wechat: bool = False) -> Path:
    """A callback URL (MINSHENG_CALLBACK_URL) turns on the callback channel, MINSHENG_WECHAT_TOKEN
    the WeChat Official Account channel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(path, yaml.safe_dump(credentials(callback_url, wechat), allow_unicode=True, sort_keys=False))
    return path
