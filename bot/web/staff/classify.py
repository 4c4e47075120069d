"""Asks the Rasa server's NLU (the same model the chat uses) for a category and urgency."""
from __future__ import annotations

import logging
from typing import Optional

import aiohttp

from bot import settings

logger = logging.getLogger(__name__)


async def classify(text: str) -> Optional[dict]:
    """{"category": .., "category_confidence": .., "urgency": ..} or None when Rasa cannot be asked."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
            async with client.post(f"{settings.rasa_url()}/model/parse", params={"token": settings.rasa_token()},
                                   json={"text": text}) as response:
                if response.status != 200:
                    logger.warning("classification: Rasa answered %s", response.status)
                    return None
                parsed = await response.json()
    except (aiohttp.ClientError, OSError, TimeoutError) as failure:
        logger.warning("classification: Rasa unreachable: %s", failure)
        return None
    category = parsed.get("category") or {}
    if not category.get("name"):
        return None
    return {"category": category["name"], "category_confidence": category.get("confidence"),
            "urgency": (parsed.get("urgency") or {}).get("name", "normal")}
