"""Residents in WeChat: the district's Official Account (公众号) as a Rasa input channel.

WeChat POSTs each message to /webhooks/wechat/webhook (signed; encrypted in safe mode) and waits 5
seconds, retrying up to 3 times. The channel checks the signature, decrypts and parses with wechatpy
(a maintained implementation of the protocol), drops a message id it has already taken (across
every Rasa process: the ids are kept in the store), answers `success` at once and handles the
message afterwards: the assistant's answers go out as customer-service messages (客服消息), buttons
as a menu message whose items (or their numbers) the resident taps or types.

Pushed updates and surveys go the same way while the resident's 48-hour window is open; after it,
as a subscription message (订阅通知) when a template is configured; otherwise the push fails with
bot.channels.UNREACHABLE and the deliverer keeps the update for the resident's next message.

The access_token is kept in the store for every process, refreshed a few minutes before it
expires, by one process at a time (a lease); a 40001/42001 answer refreshes it once and retries
(wechatpy's client does that)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.client import WeChatClient
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException, WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.utils import check_signature

from bot import settings as settings_module
from bot.channels import SHOWN_KEY, SHOWN_LIMIT, UNREACHABLE
from bot.channels.updates import ShowsWaitingUpdates
from bot.errors import NotAPhoto
from bot.parsing import find_ticket_number
from bot.store import channel_keys
from bot.store.db import session_scope
from bot.store.schema import utcnow

logger = logging.getLogger(__name__)

NAME = "wechat"
MAX_BODY = 64 * 1024  # a WeChat message is a few hundred bytes; nothing larger is parsed
CLOCK_SKEW = 600  # seconds: a signed request older (or newer) than this is refused
SEEN_SECONDS = 3600  # WeChat retries within about 15 s; a message id is remembered for an hour
TOKEN_KEY = "wechat:access_token"
TOKEN_LEASE = "wechat:access_token:refreshing"
REFRESH_BEFORE = 300  # seconds before the token expires, it is refreshed
# WeChat's answers the channel understands (全局返回码)
WINDOW_CLOSED = 45015  # the resident has not written within 48 hours
UNSUBSCRIBED = 43004  # the resident no longer follows the account
REFUSED = 43101  # the resident did not accept subscription messages of this template

TYPE_PLEASE = "抱歉，这种消息我还看不懂。请直接用文字告诉我遇到了什么问题，也可以发照片或位置。"
VOICE_PLEASE = "这条语音我没能听清，麻烦您用文字再说一下。"
PHOTO_FAILED = "这张照片没能收到（可能太大或格式不支持），请换一张再发，或者用文字描述一下。"
MENU_TAIL = "点上面的选项，或回复序号"


class ResidentUnreachable(RuntimeError):
    """The resident cannot be reached now; the update waits for their next message."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{UNREACHABLE} {reason}")


# ---------------------------------------------------------------- keys shared by every process


def _last_key(openid: str) -> str:
    return f"wechat:last:{openid}"


def _menu_key(openid: str) -> str:
    return f"wechat:menu:{openid}"


class StoreSession(SessionStorage):
    """wechatpy's session storage, kept in the store so that every process sees the same token."""

    @staticmethod
    def key(name: str) -> str:
        return f"wechat:session:{name}"

    def get(self, key, default=None):
        with session_scope() as session:
            value = channel_keys.get(session, self.key(key))
        return default if value is None else json.loads(value)

    def set(self, key, value, ttl=None):
        with session_scope() as session:
            channel_keys.put(session, self.key(key), json.dumps(value), ttl or 7200)

    def delete(self, key):
        with session_scope() as session:
            channel_keys.forget(session, self.key(key))


class OfficialAccount(WeChatClient):
    """wechatpy's Official Account client (blocking: called from worker threads), with the API base
    from the settings and the access_token kept in the store and refreshed by one process at a time."""

    def __init__(self, config: settings_module.WeChat) -> None:
        super().__init__(config.appid, config.secret, session=StoreSession(), timeout=10)
        self.API_BASE_URL = f"{config.api_base}/cgi-bin/"
        self.api_base = config.api_base
        self._holder = uuid.uuid4().hex
        self._seen = threading.local()  # the token this thread last used: the one a 40001 condemns

    @property
    def access_token_key(self) -> str:
        return TOKEN_KEY

    @property
    def access_token(self) -> str:
        token, fresh = self._stored()
        self._seen.token = token
        if not fresh:
            self.fetch_access_token()
            self._seen.token, _ = self._stored()
        return self._seen.token

    def fetch_access_token(self) -> Dict[str, Any]:
        """A new token, fetched by whichever process holds the lease; another process that finds the
        lease taken waits for the new token instead of fetching one (which would end the first)."""
        stale = getattr(self._seen, "token", None)
        holder = f"{self._holder}:{threading.get_ident()}"  # one holder per thread, not per process
        for _ in range(100):
            with session_scope() as session:
                mine = channel_keys.lease(session, TOKEN_LEASE, holder, 30)
            current, fresh = self._stored()
            if fresh and current != stale:
                return {"access_token": current}
            if mine:
                try:
                    logger.info("fetching a new WeChat access_token")
                    return self._fetch_access_token(
                        url=f"{self.api_base}/cgi-bin/token",
                        params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
                    )
                finally:
                    with session_scope() as session:
                        channel_keys.release(session, TOKEN_LEASE, holder)
            time.sleep(0.1)
        raise WeChatClientException(None, "another process did not finish fetching the access_token")

    def _stored(self) -> Tuple[Optional[str], bool]:
        """The token in the store, and whether it is good for more than REFRESH_BEFORE seconds."""
        key = StoreSession.key(TOKEN_KEY)
        with session_scope() as session:
            value, until = channel_keys.get(session, key), channel_keys.expires_at(session, key)
        token = json.loads(value) if value else None
        return token, bool(token and until and (until - utcnow()).total_seconds() > REFRESH_BEFORE)


# ---------------------------------------------------------------- output


def menu_of(text: str, buttons: List[Dict[str, Any]], stamp: str) -> Dict[str, Any]:
    """A menu message (客服消息 msgmenu): the text, then one item per button, numbered."""
    items = [
        {"id": f"{stamp}{index}", "content": f"{index}. {button.get('title', '')}"}
        for index, button in enumerate(buttons, start=1)
    ]
    return {"head_content": text, "list": items, "tail_content": MENU_TAIL}


class WeChatOutput(OutputChannel):
    """Sends what the assistant says to one resident; one instance per turn."""

    def __init__(self, channel: "WeChatInput") -> None:
        self.channel = channel
        self.config = channel.config
        self._subscription_sent = False

    @classmethod
    def name(cls) -> Text:
        return NAME

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            if part.strip():
                await self._send(recipient_id, text=part.strip())

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text=text, buttons=buttons)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, text=image)

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, text=str(attachment))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if text:
            await self._send(recipient_id, text=str(text))

    async def _send(self, openid: str, text: str, buttons: Optional[List[Dict[str, Any]]] = None) -> None:
        await asyncio.to_thread(self._send_blocking, openid, text, buttons or [])

    def _send_blocking(self, openid: str, text: str, buttons: List[Dict[str, Any]]) -> None:
        client = self.channel.client
        with session_scope() as session:
            window_open = channel_keys.get(session, _last_key(openid)) is not None
        if window_open:
            try:
                if buttons:
                    stamp = uuid.uuid4().hex[:6]
                    with session_scope() as session:
                        menu = [{"payload": b.get("payload", ""), "title": b.get("title", "")} for b in buttons]
                        channel_keys.put(
                            session,
                            _menu_key(openid),
                            json.dumps({"stamp": stamp, "items": menu}),
                            self.config.window_hours * 3600,
                        )
                    client.message.send_msg_menu(openid, menu_of(text, buttons, stamp))
                else:
                    client.message.send_text(openid, text)
                return
            except WeChatClientException as error:
                if error.errcode == UNSUBSCRIBED:
                    raise ResidentUnreachable("居民已取消关注公众号") from error
                if error.errcode != WINDOW_CLOSED:
                    raise
                with session_scope() as session:  # WeChat knows better: the window is closed
                    channel_keys.forget(session, _last_key(openid))
        self._subscribe_blocking(openid, text)

    def _subscribe_blocking(self, openid: str, text: str) -> None:
        """Outside the window: one subscription message per push, saying what changed."""
        if self._subscription_sent:
            return
        if not self.config.template_id:
            raise ResidentUnreachable("居民超过48小时没有发消息，且没有配置订阅通知模板")
        values = {
            "number": _ticket_number(text) or "—",
            "news": _short(text, 20),
            "time": dt.datetime.now(settings_module.load().zone).strftime("%Y-%m-%d %H:%M"),
        }
        data = {field: {"value": values[what]} for what, field in self.config.template_fields}
        try:
            self.channel.client.message.send_subscribe_message(openid, self.config.template_id, data)
        except WeChatClientException as error:
            if error.errcode in (UNSUBSCRIBED, REFUSED):
                raise ResidentUnreachable(f"订阅通知发送不了（{error.errcode}）") from error
            raise
        self._subscription_sent = True


def _ticket_number(text: str) -> Optional[str]:
    found = find_ticket_number(text, settings_module.load().ticket_prefix)
    return found.value if found else None


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---------------------------------------------------------------- input


class WeChatInput(ShowsWaitingUpdates, InputChannel):
    """The webhook WeChat calls: GET to verify the server, POST for each message."""

    def __init__(self, config: Optional[settings_module.WeChat] = None) -> None:
        self.config = config or settings_module.load().wechat
        self.crypto = (
            WeChatCrypto(self.config.token, self.config.aes_key, self.config.appid) if self.config.safe_mode else None
        )
        self._client: Optional[OfficialAccount] = None
        self._tasks: Set["asyncio.Task[None]"] = set()

    @classmethod
    def name(cls) -> Text:
        return NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeChatInput":
        return cls()  # the secrets come from the environment (bot/settings.py), never from a file

    @property
    def client(self) -> OfficialAccount:
        if self._client is None:
            self._client = OfficialAccount(self.config)
        return self._client

    def get_output_channel(self) -> OutputChannel:
        return WeChatOutput(self)

    # ------------------------------------------------------------ the webhook

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = self._wrap(on_new_message)
        hook = Blueprint("wechat_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            args = request.args
            signature, timestamp, nonce = args.get("signature"), args.get("timestamp"), args.get("nonce")
            echostr = args.get("echostr") or ""
            if not self._signed(signature, timestamp, nonce):
                return response.text("signature mismatch", status=403)
            if self.crypto is not None and args.get("msg_signature"):
                try:
                    # wechatpy's WeChatCrypto has no public call for the server check's echostr
                    echostr = self.crypto._check_signature(
                        args.get("msg_signature"), timestamp, nonce, echostr, PrpCrypto
                    )
                except (InvalidSignatureException, InvalidAppIdException, ValueError):
                    return response.text("signature mismatch", status=403)
            return response.text(str(echostr, "utf-8") if isinstance(echostr, bytes) else echostr)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            if len(body) > MAX_BODY:
                return response.text("too large", status=413)
            args = request.args
            timestamp, nonce = args.get("timestamp"), args.get("nonce")
            if not self._signed(args.get("signature"), timestamp, nonce):
                return response.text("signature mismatch", status=403)
            try:
                if self.crypto is not None and args.get("encrypt_type") == "aes":
                    xml = self.crypto.decrypt_message(body, args.get("msg_signature"), timestamp, nonce)
                elif self.crypto is not None:
                    return response.text("safe mode: encrypt_type=aes expected", status=403)
                else:
                    xml = body.decode("utf-8")
                message = parse_message(xml)
            except (InvalidSignatureException, InvalidAppIdException):
                return response.text("signature mismatch", status=403)
            except Exception:  # not the XML WeChat sends
                logger.warning("WeChat webhook: a body that is not a WeChat message")
                return response.text("bad message", status=400)
            openid = str(getattr(message, "source", "") or "")
            if not openid or len(openid) > 64:
                return response.text("bad message", status=400)
            if not await asyncio.to_thread(self._first_time, message):
                return response.text("success")  # WeChat's retry of a message already taken
            task = asyncio.get_running_loop().create_task(self._handle(message, handle))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return response.text("success")

        return self._keep_app(hook)

    def _signed(self, signature: Optional[str], timestamp: Optional[str], nonce: Optional[str]) -> bool:
        if not (signature and timestamp and nonce):
            return False
        try:
            if abs(time.time() - int(timestamp)) > CLOCK_SKEW:
                return False
            check_signature(self.config.token, signature, timestamp, nonce)
        except (InvalidSignatureException, ValueError):
            return False
        return True

    def _first_time(self, message: Any) -> bool:
        """Takes the message once (by MsgId; events by sender and time) and opens the resident's
        48-hour window. False for a retry already taken, by this process or another."""
        raw = getattr(message, "_data", {}) or {}
        msg_id = raw.get("MsgId") or f"{message.source}:{raw.get('CreateTime')}:{raw.get('Event', '')}"
        with session_scope() as session:
            if not channel_keys.take_once(session, f"wechat:msg:{msg_id}", SEEN_SECONDS):
                return False
            if getattr(message, "type", "") != "event" or getattr(message, "event", "") != "unsubscribe":
                channel_keys.put(
                    session, _last_key(message.source), str(int(time.time())), self.config.window_hours * 3600
                )
            else:
                channel_keys.forget(session, _last_key(message.source))
        return True

    async def _handle(self, message: Any, handle: Callable[[UserMessage], Awaitable[Any]]) -> None:
        openid = message.source
        output = WeChatOutput(self)
        try:
            text, metadata, reply = await self._as_text(message)
            if reply is not None:
                await output.send_text_message(openid, reply)
                return
            if text is None:
                return
            await handle(UserMessage(text, output, openid, input_channel=NAME, metadata=metadata))
        except Exception:
            logger.exception("WeChat message of %s not handled", openid)

    async def _as_text(self, message: Any):
        """(text for the assistant, metadata, or a reply of the channel's own instead)."""
        kind = getattr(message, "type", "")
        raw = getattr(message, "_data", {}) or {}
        if kind == "text":
            content = str(message.content or "")
            payload, shown = await asyncio.to_thread(
                self._menu_choice, message.source, raw.get("bizmsgmenuid"), content
            )
            if payload:
                return payload, {SHOWN_KEY: shown[:SHOWN_LIMIT]}, None
            return content, None, None
        if kind == "location":
            where = {"latitude": float(message.location_x), "longitude": float(message.location_y)}
            return "/share_location" + json.dumps(where), {SHOWN_KEY: "（发送了位置）"}, None
        if kind == "image":
            try:
                url = await asyncio.to_thread(self._fetch_photo, message.media_id)
            except (NotAPhoto, WeChatClientException) as error:
                logger.warning("WeChat photo of %s not taken: %s", message.source, error)
                return None, None, PHOTO_FAILED
            return "/inform" + json.dumps({"photo_url": url}), {SHOWN_KEY: "（发送了照片）"}, None
        if kind == "voice":
            recognised = (message.recognition or "").strip()
            return (recognised, None, None) if recognised else (None, None, VOICE_PLEASE)
        if kind == "event":
            if getattr(message, "event", "") in ("subscribe", "subscribe_scan"):
                return "/greet", {SHOWN_KEY: "（关注了公众号）"}, None
            return None, None, None  # other events (unsubscribe, menu views) are not messages
        return None, None, TYPE_PLEASE

    def _menu_choice(self, openid: str, menu_id: Optional[str], content: str):
        """The payload of the menu item the resident tapped, or whose number they typed."""
        with session_scope() as session:
            stored = channel_keys.get(session, _menu_key(openid))
        if not stored:
            return None, ""
        menu = json.loads(stored)
        items, stamp = menu.get("items") or [], menu["stamp"]
        if menu_id:  # a tap: the item of this menu, not of an older one
            chosen = str(menu_id)[len(stamp) :] if str(menu_id).startswith(stamp) else ""
        else:  # typed: its number
            chosen = content.strip()
        index = int(chosen) if chosen.isdigit() else 0
        if not 1 <= index <= len(items):
            return None, ""
        item = items[index - 1]
        return item.get("payload") or item.get("title"), item.get("title") or ""

    def _fetch_photo(self, media_id: str) -> str:
        from bot.web.photos import store_photo

        answer = self.client.media.download(media_id)
        # checked (size, kind, pixels) and kept as a chat upload is
        return store_photo(settings_module.load().var_dir, getattr(answer, "content", b"") or b"")
