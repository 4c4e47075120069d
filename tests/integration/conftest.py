"""Starts a real action server, a real Rasa server (the model `make test` trained) and the web app,
with tickets and trackers in PostgreSQL and Rasa's lock store in Redis."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from bot.store.migrate import upgrade
from tests.support.scratch import free_port, scratch_database
from tests.support.stack import TOKEN, Stack, get_json, post_json


class Bot:
    """A resident talking to the Rasa server over the REST channel."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def say(self, sender: str, message: str, headers=None):
        return json.loads(
            post_json(
                f"{self.base_url}/webhooks/rest/webhook",
                {"sender": sender, "message": message},
                timeout=60,
                headers=headers,
            )
        )

    def texts(self, sender: str, message: str, headers=None) -> str:
        return "\n".join(m.get("text", "") for m in self.say(sender, message, headers))

    def tracker(self, sender: str):
        return get_json(f"{self.base_url}/conversations/{sender}/tracker?token={TOKEN}")


@pytest.fixture(scope="session")
def integration_postgres_url():
    """The running processes' own database: the store tests empty theirs while these run on."""
    with scratch_database("minsheng_integration") as url:
        yield url


@pytest.fixture(scope="session")
def stack(integration_postgres_url, trained_model, tmp_path_factory):
    """The three processes, tickets and trackers in PostgreSQL, the lock store in Redis."""
    var = tmp_path_factory.mktemp("var")
    os.environ["MINSHENG_DATABASE_URL"] = integration_postgres_url
    os.environ["MINSHENG_LOCK_STORE_URL"] = "redis://127.0.0.1:6379/15"
    upgrade(integration_postgres_url)
    with Stack(
        var, integration_postgres_url, trained_model, {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    ).running() as running:
        yield running


@pytest.fixture(scope="session")
def running_bot(stack):
    return Bot(stack.rasa_url)


@pytest.fixture
def bot(running_bot):
    return running_bot


@pytest.fixture
def sender():
    return f"resident-{uuid.uuid4().hex[:12]}"
