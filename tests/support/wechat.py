"""A WeChat simulator for the tests: the other side of the Official Account protocol.

- `WeChatApi` plays api.weixin.qq.com on a local port: /cgi-bin/token, message/custom/send,
  media/get and message/subscribe/bizsend, with WeChat's error codes (an expired token → 42001, a
  closed 48-hour window → 45015, an unfollowed account → 43004), and records what the product sent.
- `Follower` is a resident in WeChat: WeChat's server posting their messages to the product's
  webhook, signed — and in safe mode encrypted — by wechatpy's own crypto (WeChatCrypto,
  WeChatSigner), an implementation of the protocol this project did not write.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Set

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner, random_string

APPID = "wx5f3b6c2d1e0a9b87"
SECRET = "test-app-secret-0123456789abcdef"
TOKEN = "minshengtoken2026"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
TEMPLATE_ID = "tpl-ticket-progress"


class WeChatApi:
    """WeChat's API server, recording what the product sends to whom."""

    def __init__(self) -> None:
        self.sent: Dict[str, List[Dict[str, Any]]] = defaultdict(list)  # openid → custom messages
        self.sent_at: Dict[str, List[float]] = defaultdict(list)  # time.perf_counter() of each
        self.subscription: Dict[str, List[Dict[str, Any]]] = defaultdict(list)  # openid → bizsend bodies
        self.token_fetches = 0
        self.valid_tokens: Set[str] = set()
        self.window_closed: Set[str] = set()  # openids answered 45015
        self.unfollowed: Set[str] = set()  # openids answered 43004
        self.media: Dict[str, bytes] = {}
        self.lock = threading.Lock()
        self._counter = itertools.count(1)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: Dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/cgi-bin/token":
                    if (query.get("appid"), query.get("secret")) != (APPID, SECRET):
                        return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                    with api.lock:
                        api.token_fetches += 1
                        token = f"ACCESS-{next(api._counter)}"
                        api.valid_tokens = {token}  # a new token ends the old one
                    return self._json({"access_token": token, "expires_in": 7200})
                if url.path == "/cgi-bin/media/get":
                    if query.get("access_token") not in api.valid_tokens:
                        return self._json({"errcode": 42001, "errmsg": "access_token expired"})
                    data = api.media.get(query.get("media_id", ""))
                    if data is None:
                        return self._json({"errcode": 40007, "errmsg": "invalid media_id"})
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return None
                return self._json({"errcode": 404, "errmsg": "unknown api"}, 404)

            def do_POST(self):  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if query.get("access_token") not in api.valid_tokens:
                    return self._json({"errcode": 42001, "errmsg": "access_token expired"})
                openid = body.get("touser", "")
                if openid in api.unfollowed:
                    return self._json({"errcode": 43004, "errmsg": "require subscribe"})
                if url.path == "/cgi-bin/message/custom/send":
                    if openid in api.window_closed:
                        return self._json({"errcode": 45015, "errmsg": "response out of time limit"})
                    with api.lock:
                        api.sent[openid].append(body)
                        api.sent_at[openid].append(time.perf_counter())
                    return self._json({"errcode": 0, "errmsg": "ok"})
                if url.path == "/cgi-bin/message/subscribe/bizsend":
                    with api.lock:
                        api.subscription[openid].append(body)
                    return self._json({"errcode": 0, "errmsg": "ok"})
                return self._json({"errcode": 404, "errmsg": "unknown api"}, 404)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def expire_tokens(self) -> None:
        """As when the token ran out on WeChat's side: the next call is answered 42001."""
        with self.lock:
            self.valid_tokens = set()

    def texts(self, openid: str) -> List[str]:
        """What the resident read: text messages, and menu messages as their text and items."""
        out = []
        for message in list(self.sent[openid]):
            if message["msgtype"] == "text":
                out.append(message["text"]["content"])
            elif message["msgtype"] == "msgmenu":
                menu = message["msgmenu"]
                out.append("\n".join([menu["head_content"], *(i["content"] for i in menu["list"])]))
        return out

    def last_menu(self, openid: str) -> Dict[str, Any]:
        menus = [m["msgmenu"] for m in self.sent[openid] if m["msgtype"] == "msgmenu"]
        assert menus, f"{openid} was shown no menu: {self.texts(openid)}"
        return menus[-1]

    def close(self) -> None:
        self.server.shutdown()


def _post(url: str, body: bytes, timeout: float = 10) -> tuple:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def signed_query(token: str, **extra: str) -> Dict[str, str]:
    timestamp, nonce = str(int(time.time())), random_string(10)
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, **extra}


class Follower:
    """A resident following the Official Account, as WeChat's server delivers their messages."""

    ids = itertools.count(int(time.time() * 1000))

    def __init__(self, webhook: str, api: WeChatApi, openid: str, safe_mode: bool, account: str = "gh_minsheng"):
        self.webhook = webhook
        self.api = api
        self.openid = openid
        self.account = account
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APPID) if safe_mode else None

    def xml(self, msg_type: str, msg_id: Optional[int] = None, **fields: Any) -> str:
        message = {
            "ToUserName": self.account,
            "FromUserName": self.openid,
            "CreateTime": int(time.time()),
            "MsgType": msg_type,
            **fields,
        }
        if msg_type != "event":
            message["MsgId"] = msg_id if msg_id is not None else next(self.ids)
        return xmltodict.unparse({"xml": message}, full_document=False)

    def post(self, xml: str, query: Optional[Dict[str, str]] = None) -> tuple:
        """WeChat's POST of one message: (status, body)."""
        params = query or signed_query(TOKEN)
        body = xml.encode()
        if self.crypto is not None and query is None:
            envelope = xmltodict.parse(self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"]))["xml"]
            params = {**params, "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
            body = xmltodict.unparse({"xml": {"ToUserName": self.account, "Encrypt": envelope["Encrypt"]}}).encode()
        return _post(f"{self.webhook}?{urllib.parse.urlencode(params)}", body)

    def send(self, msg_type: str = "text", seconds: float = 60, **fields: Any) -> List[str]:
        """Sends a message and returns what the resident reads in answer (once the answers stop)."""
        before = len(self.api.texts(self.openid))
        status, body = self.post(self.xml(msg_type, **fields))
        assert (status, body) == (200, "success"), (status, body)
        return self.answers_after(before, seconds)

    def says(self, text: str, **kwargs: Any) -> List[str]:
        return self.send("text", Content=text, **kwargs)

    def taps(self, title: str) -> List[str]:
        """Taps the item of the last menu whose words contain `title`."""
        menu = self.api.last_menu(self.openid)
        item = next(i for i in menu["list"] if title in i["content"])
        return self.send("text", Content=item["content"], bizmsgmenuid=item["id"])

    def answers_after(self, before: int, seconds: float = 60, quiet: float = 1.5, expect: int = 0) -> List[str]:
        """The messages after the first `before`: once `expect` of them came, or once they stop."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            count = len(self.api.texts(self.openid))
            if expect and count - before >= expect:
                return self.api.texts(self.openid)[before:]
            if not expect and count > before:
                time.sleep(quiet)  # the rest of the turn's messages
                if len(self.api.texts(self.openid)) == count:
                    return self.api.texts(self.openid)[before:]
                continue
            time.sleep(0.1)
        raise AssertionError(f"{self.openid} got no answer; so far: {self.api.texts(self.openid)}")
