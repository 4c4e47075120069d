"""Rasa's socket.io channel. A pushed update (Rasa's trigger_intent) goes out only while the
resident's chat page is connected; otherwise the push fails and the update waits, to be shown when
the page reconnects or with the answer to the resident's next message. A message without a valid
session is answered (Rasa's drops it silently), and the client's own metadata is not believed."""

from __future__ import annotations

import uuid
from typing import Any, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput

from bot import limits
from bot.channels import CHECK_UPDATES, SHOWN_KEY, SOURCE_KEY
from bot.channels.updates import ShowsWaitingUpdates, request_source

NO_SESSION = "这个对话还没有建立好，请刷新页面后再说一次。"


class ResidentNotConnected(RuntimeError):
    pass


def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limits.CONVERSATION_ID


class ConnectedOnlyOutput(SocketIOOutput):
    def __init__(self, sio, bot_message_evt: str, namespace: Optional[str]) -> None:
        super().__init__(sio, bot_message_evt)
        self.namespace = namespace or "/"

    async def _send_message(self, socket_id: str, response: Any) -> None:
        try:
            present = any(True for _ in self.sio.manager.get_participants(self.namespace, socket_id))
        except KeyError:
            present = False
        if not present:
            raise ResidentNotConnected(f"no chat page of {socket_id} is connected")
        await super()._send_message(socket_id, response)


class SocketIOInput(ShowsWaitingUpdates, RasaSocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message):
        blueprint = super().blueprint(on_new_message)
        handle = self._wrap(on_new_message)
        namespace = self.namespace or "/"
        joined = self.sio.handlers[namespace]["session_request"]

        async def session_request(sid: str, data: Optional[dict]) -> None:
            data = data if isinstance(data, dict) else {}
            if not valid_session_id(data.get("session_id")):
                data["session_id"] = uuid.uuid4().hex
            await joined(sid, data)
            session_id = data["session_id"]
            if self.session_persistence and await self._updates_waiting(session_id):
                output = SocketIOOutput(self.sio, self.bot_message_evt)
                await handle(UserMessage(CHECK_UPDATES, output, session_id, input_channel=self.name()))

        async def user_message(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id") if self.session_persistence else sid
            if not valid_session_id(session_id):
                await self.sio.emit(self.bot_message_evt, {"text": NO_SESSION}, room=sid, namespace=self.namespace)
                return
            text = data.get("message")
            text = text if isinstance(text, str) else ""
            request = (self.sio.get_environ(sid, namespace=self.namespace) or {}).get("sanic.request")
            # the button's words are checked, with everything else, where every channel's message is
            # prepared (bot/channels/updates.py)
            metadata = {SOURCE_KEY: request_source(request) if request else None, SHOWN_KEY: data.get(SHOWN_KEY)}
            await handle(
                UserMessage(
                    text,
                    SocketIOOutput(self.sio, self.bot_message_evt),
                    session_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        self.sio.on("session_request", session_request, namespace=self.namespace)
        self.sio.on(self.user_message_evt, user_message, namespace=self.namespace)
        return blueprint

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return None
        return ConnectedOnlyOutput(self.sio, self.bot_message_evt, self.namespace)
