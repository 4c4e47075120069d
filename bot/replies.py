"""Response templates (常用回复) per category, for the staff resolving a ticket or replying to the
resident: the district's file (MINSHENG_REPLIES_FILE, default bot/replies.yml), read once per file."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, Optional, Tuple

import yaml

from bot import settings

# Which action's text box each set of templates fills (bot/staff/workflow.py).
ACTIONS = ("resolve", "reply")

Replies = Dict[str, Dict[str, Tuple[str, ...]]]


def load(path: Optional[str] = None) -> Replies:
    """category id → action → templates."""
    return _load(path or str(settings.load().replies_file))


def of(category_id: str, action: str, path: Optional[str] = None) -> Tuple[str, ...]:
    return load(path).get(category_id, {}).get(action, ())


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Replies:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected categories, each with resolve/reply templates")
    found: Replies = {}
    for category, by_action in raw.items():
        if not isinstance(by_action, dict) or set(by_action) - set(ACTIONS):
            raise ValueError(f"{path}: {category}: only {', '.join(ACTIONS)} templates are known")
        found[str(category)] = {
            action: tuple(str(t).strip() for t in by_action.get(action) or () if str(t).strip()) for action in ACTIONS
        }
    return found
