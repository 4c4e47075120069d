"""The audit log: every staff action, written in the same transaction as the action."""

from __future__ import annotations

import json
from typing import Any, Optional

from sqlalchemy.orm import Session

from bot.store.schema import AuditEntry


def record(
    session: Session, actor: str, action: str, ticket_id: Optional[int] = None, remote_addr: str = "", **detail: Any
) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            ticket_id=ticket_id,
            remote_addr=(remote_addr or "")[:64],
            detail=json.dumps(detail, ensure_ascii=False) if detail else None,
        )
    )
