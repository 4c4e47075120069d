"""One delivery pass over the outbox. A message is claimed (committed) before it is pushed and
marked after Rasa took it. A deliverer that dies in between leaves a claim that runs out; the
message is then pushed again, and the update action, which remembers in the conversation what it
has shown, does not show it twice."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import List

from bot.notify.rasa_api import RasaApi, RasaUnavailable
from bot.store import outbox
from bot.store.db import session_scope

logger = logging.getLogger(__name__)

# Channels that cannot send a message unasked; the update then waits for the resident's next message.
PULL_ONLY_CHANNELS = frozenset({None, "", "rest", "cmdline"})


def claim_seconds() -> int:
    return int(os.environ.get("MINSHENG_OUTBOX_CLAIM_SECONDS", outbox.CLAIM_SECONDS))


@dataclass
class PassReport:
    pushed: List[int] = field(default_factory=list)
    waiting: List[int] = field(default_factory=list)
    failed: List[int] = field(default_factory=list)


async def deliver_due(rasa: RasaApi) -> PassReport:
    """Pushes what is due. While Rasa is down (starting up, restarting) nothing is claimed, so no
    message spends its attempts on that."""
    report = PassReport()
    if not await rasa.is_up():
        return report
    with session_scope() as session:
        claimed = [(m.id, m.conversation_id) for m in outbox.claim_due(session, claim_seconds())]
    for message_id, conversation_id in claimed:
        try:
            channel = await rasa.latest_channel(conversation_id)
            if channel in PULL_ONLY_CHANNELS:
                await rasa.flag_waiting(conversation_id)
                with session_scope() as session:
                    outbox.wait_for_next_message(session, message_id, f"渠道 {channel or '未知'} 不能主动推送")
                report.waiting.append(message_id)
                continue
            await rasa.push_update(conversation_id, message_id)
        except RasaUnavailable as error:
            logger.warning("update %s for %s not pushed: %s", message_id, conversation_id, error)
            try:
                await rasa.flag_waiting(conversation_id)
            except RasaUnavailable:
                pass
            with session_scope() as session:
                outbox.push_failed(session, message_id, str(error))
            report.failed.append(message_id)
            continue
        with session_scope() as session:
            outbox.mark_delivered(session, message_id, "push")
        report.pushed.append(message_id)
    return report
