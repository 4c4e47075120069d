"""Delivery passes over the outbox. A message is claimed (committed) before it is pushed and
marked after Rasa took it. A deliverer that dies in between leaves a claim that runs out; the
message is then pushed again, and the update action, which remembers in the conversation what it
has shown, does not show it twice. Conversations are served side by side, each one's messages in
order."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List

from bot.channels import UNREACHABLE
from bot.notify.rasa_api import RasaApi, RasaUnavailable
from bot.store import outbox
from bot.store.db import in_thread

logger = logging.getLogger(__name__)

# Channels that cannot send a message unasked; the update then waits for the resident's next message.
PULL_ONLY_CHANNELS = frozenset({None, "", "rest", "cmdline"})
BATCH = 50
CONCURRENT_CONVERSATIONS = 8
PASS_SECONDS = 20  # well inside the scheduler's lease


@dataclass
class PassReport:
    pushed: List[int] = field(default_factory=list)
    waiting: List[int] = field(default_factory=list)
    failed: List[int] = field(default_factory=list)


async def _failed(
    rasa: RasaApi, conversation_id: str, message_ids: List[int], error: RasaUnavailable, report: PassReport
) -> None:
    """The first message failed; the rest of the conversation's go after it, in order."""
    logger.warning("update %s for %s not pushed: %s", message_ids[0], conversation_id, error)
    try:
        await rasa.flag_waiting(conversation_id)
    except RasaUnavailable:
        pass

    def note_failure(session) -> None:
        outbox.push_failed(session, message_ids[0], str(error))
        for later in message_ids[1:]:
            outbox.push_failed(session, later, "an earlier update to this conversation failed")

    await in_thread(note_failure)
    report.failed.append(message_ids[0])


async def _deliver_conversation(
    rasa: RasaApi, conversation_id: str, message_ids: List[int], report: PassReport, slots: asyncio.Semaphore
) -> None:
    async with slots:
        try:
            channel = await rasa.latest_channel(conversation_id)
            if channel in PULL_ONLY_CHANNELS:
                await rasa.flag_waiting(conversation_id)
        except RasaUnavailable as error:
            await _failed(rasa, conversation_id, message_ids, error, report)
            return
        if channel in PULL_ONLY_CHANNELS:
            await _keep_for_next_message(message_ids, f"渠道 {channel or '未知'} 不能主动推送", report)
            return
        for position, message_id in enumerate(message_ids):
            try:
                await rasa.push_update(conversation_id, message_id)
            except RasaUnavailable as error:
                if UNREACHABLE in str(error):
                    await _wait_for_resident(rasa, conversation_id, message_ids[position:], str(error), report)
                else:
                    await _failed(rasa, conversation_id, message_ids[position:], error, report)
                return
            await in_thread(functools.partial(_delivered, message_id=message_id))
            report.pushed.append(message_id)


async def _wait_for_resident(
    rasa: RasaApi, conversation_id: str, message_ids: List[int], error: str, report: PassReport
) -> None:
    """The channel cannot reach the resident until they write again: no retries, shown then."""
    reason = error.split(UNREACHABLE, 1)[1].strip(" .\"'}") or "渠道暂时无法主动联系居民"
    try:
        await rasa.flag_waiting(conversation_id)
    except RasaUnavailable:
        pass
    await _keep_for_next_message(message_ids, reason, report)


async def _keep_for_next_message(message_ids: List[int], reason: str, report: PassReport) -> None:
    """Marks the messages to be shown with the answer to the resident's next message."""

    def wait(session) -> None:
        for message_id in message_ids:
            outbox.wait_for_next_message(session, message_id, reason)

    await in_thread(wait)
    report.waiting.extend(message_ids)


def _delivered(session, message_id: int) -> None:
    outbox.mark_delivered(session, message_id, "push")


async def deliver_due(rasa: RasaApi, claim_seconds: int = outbox.CLAIM_SECONDS) -> PassReport:
    """Pushes what is due, batch after batch, for up to PASS_SECONDS. While Rasa is down (starting
    up, restarting) nothing is claimed, so no message spends its attempts on that. A claim lasts
    `claim_seconds` (MINSHENG_OUTBOX_CLAIM_SECONDS) before another deliverer may take it over."""
    report = PassReport()
    if not await rasa.is_up():
        return report
    started = time.monotonic()
    while time.monotonic() - started < PASS_SECONDS:
        claimed = await in_thread(
            lambda session: [(m.id, m.conversation_id) for m in outbox.claim_due(session, claim_seconds, limit=BATCH)]
        )
        by_conversation: Dict[str, List[int]] = defaultdict(list)
        for message_id, conversation_id in claimed:
            by_conversation[conversation_id].append(message_id)
        slots = asyncio.Semaphore(CONCURRENT_CONVERSATIONS)
        await asyncio.gather(
            *(_deliver_conversation(rasa, c, ids, report, slots) for c, ids in by_conversation.items())
        )
        if len(claimed) < BATCH:
            break
    return report
