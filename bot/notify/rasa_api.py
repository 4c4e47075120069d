"""The calls the deliverer makes to the Rasa server's HTTP API (token-protected)."""
from __future__ import annotations

from typing import Optional

import aiohttp

from bot.channels import WAITING_SLOT

UPDATE_INTENT = "EXTERNAL_ticket_update"


class RasaUnavailable(RuntimeError):
    pass


class RasaApi:
    def __init__(self, base_url: str, token: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        params = {"token": self.token, **kwargs.pop("params", {})}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as client:
                async with client.request(method, f"{self.base_url}{path}", params=params, **kwargs) as response:
                    body = await response.text()
                    if response.status != 200:
                        raise RasaUnavailable(f"Rasa answered {response.status}: {body[:300]}")
                    return await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise RasaUnavailable(f"Rasa unreachable: {error!r}") from error

    async def is_up(self) -> bool:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as client:
                async with client.get(f"{self.base_url}/") as response:
                    return response.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def latest_channel(self, conversation_id: str) -> Optional[str]:
        tracker = await self._call("GET", f"/conversations/{conversation_id}/tracker",
                                   params={"include_events": "NONE"})
        return tracker.get("latest_input_channel")

    async def push_update(self, conversation_id: str, notification_id: int) -> None:
        """Runs the update action in the resident's conversation, answering over their latest channel."""
        await self._call("POST", f"/conversations/{conversation_id}/trigger_intent",
                         params={"output_channel": "latest"},
                         json={"name": UPDATE_INTENT, "entities": {"notification_id": str(notification_id)}})

    async def flag_waiting(self, conversation_id: str) -> None:
        """Marks the conversation so its channel shows the waiting updates at the next message."""
        await self._call("POST", f"/conversations/{conversation_id}/tracker/events",
                         params={"include_events": "NONE"},
                         json={"event": "slot", "name": WAITING_SLOT, "value": True})
