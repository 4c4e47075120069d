"""The web app's client of the Rasa server's HTTP API (token-protected): the deliverer's pushes and
the classification of reports filed by staff. One HTTP session per process, opened with the web
app and closed with it (or per call, for a client used outside the app)."""

from __future__ import annotations

import contextlib
import logging
from typing import AsyncIterator, List, Optional

import aiohttp

from bot.channels import WAITING_SLOT

logger = logging.getLogger(__name__)

UPDATE_INTENT = "EXTERNAL_ticket_update"


class RasaUnavailable(RuntimeError):
    pass


class RasaApi:
    def __init__(self, base_url: str, token: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[aiohttp.ClientSession]:
        if self._session is not None:
            yield self._session
            return
        async with aiohttp.ClientSession(timeout=self.timeout) as session:  # a client used outside the app
            yield session

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        params = {"token": self.token, **kwargs.pop("params", {})}
        try:
            async with self._client() as client:
                async with client.request(method, f"{self.base_url}{path}", params=params, **kwargs) as response:
                    body = await response.text()
                    if response.status != 200:
                        raise RasaUnavailable(f"Rasa answered {response.status}: {body[:300]}")
                    return await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise RasaUnavailable(f"Rasa unreachable: {error!r}") from error

    async def is_up(self) -> bool:
        try:
            async with self._client() as client:
                async with client.get(f"{self.base_url}/", timeout=aiohttp.ClientTimeout(total=3)) as response:
                    return response.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def latest_channel(self, conversation_id: str) -> Optional[str]:
        tracker = await self._call(
            "GET", f"/conversations/{conversation_id}/tracker", params={"include_events": "NONE"}
        )
        return tracker.get("latest_input_channel")

    async def events(self, conversation_id: str) -> List[dict]:
        """The conversation's events since its last restart (what the chat page shows again)."""
        tracker = await self._call(
            "GET", f"/conversations/{conversation_id}/tracker", params={"include_events": "AFTER_RESTART"}
        )
        return list(tracker.get("events") or [])

    async def push_update(self, conversation_id: str, notification_id: int) -> None:
        """Runs the update action in the resident's conversation, answering over their latest channel."""
        await self._call(
            "POST",
            f"/conversations/{conversation_id}/trigger_intent",
            params={"output_channel": "latest"},
            json={"name": UPDATE_INTENT, "entities": {"notification_id": str(notification_id)}},
        )

    async def flag_waiting(self, conversation_id: str) -> None:
        """Marks the conversation so its channel shows the waiting updates at the next message."""
        await self._call(
            "POST",
            f"/conversations/{conversation_id}/tracker/events",
            params={"include_events": "NONE"},
            json={"event": "slot", "name": WAITING_SLOT, "value": True},
        )

    async def classify(self, text: str) -> Optional[dict]:
        """What the chat's own model makes of a report: {"category", "category_confidence",
        "urgency"}; None when Rasa cannot be asked or finds no category."""
        try:
            parsed = await self._call("POST", "/model/parse", json={"text": text})
        except RasaUnavailable as failure:
            logger.warning("classification: %s", failure)
            return None
        category = parsed.get("category") or {}
        if not category.get("name"):
            return None
        return {
            "category": category["name"],
            "category_confidence": category.get("confidence"),
            "urgency": (parsed.get("urgency") or {}).get("name", "normal"),
        }
