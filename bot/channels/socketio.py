"""Rasa's socket.io channel. A pushed update (Rasa's trigger_intent) goes out only while the
resident's chat page is connected; otherwise the push fails and the update waits, to be shown when
the page reconnects or with the answer to the resident's next message."""
from __future__ import annotations

from typing import Any, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput

from bot.channels import CHECK_UPDATES
from bot.channels.updates import ShowsWaitingUpdates


class ResidentNotConnected(RuntimeError):
    pass


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
        namespace = self.namespace or "/"
        joined = self.sio.handlers[namespace]["session_request"]

        async def session_request(sid: str, data: Optional[dict]) -> None:
            data = data if data is not None else {}
            await joined(sid, data)
            session_id = data.get("session_id")
            if self.session_persistence and session_id and await self._updates_waiting(session_id):
                output = SocketIOOutput(self.sio, self.bot_message_evt)
                await on_new_message(UserMessage(CHECK_UPDATES, output, session_id, input_channel=self.name()))

        self.sio.on("session_request", session_request, namespace=self.namespace)
        return blueprint

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return None
        return ConnectedOnlyOutput(self.sio, self.bot_message_evt, self.namespace)
