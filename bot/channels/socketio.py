"""Rasa's socket.io channel. A pushed update (Rasa's trigger_intent) goes out only while the
resident's chat page is connected; otherwise the push fails and the update waits for their next
message instead of vanishing into an empty room."""
from __future__ import annotations

from typing import Any, Optional

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput

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
        return self._keep_app(super().blueprint(self._wrap(on_new_message)))

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return None
        return ConnectedOnlyOutput(self.sio, self.bot_message_evt, self.namespace)
