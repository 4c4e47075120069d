"""bot/rasa_patches.py: the action server's answers are checked as stock Rasa checks them, with a
validator built once."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_patches
from bot.settings import PROJECT_ROOT

VALID = [
    {},
    {"events": [], "responses": []},
    {
        "events": [
            {"event": "slot", "name": "location", "value": "幸福小区3栋"},
            {"event": "active_loop", "name": "report_form"},
            {"event": "followup", "name": "action_listen"},
        ],
        "responses": [{"response": "utter_ask_detail", "text": None, "buttons": []}],
    },
]
INVALID = [
    {"events": "slot location"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},  # a slot without its name
    {"events": [], "responses": ["还有需要补充的吗"]},
    ["not an object"],
]


def stock_check(result):
    """What Rasa 3.6.21 itself does: the method as installed, unpatched in this process."""
    return RemoteAction._validate_action_result(RemoteAction("action_x", None), result)


@pytest.mark.parametrize("result", VALID)
def test_a_valid_answer_passes(result):
    assert stock_check(result) is True
    assert rasa_patches.validate_action_result(RemoteAction("action_x", None), result) is True


@pytest.mark.parametrize("result", INVALID)
def test_an_invalid_answer_raises_the_same_error_as_stock_rasa(result):
    with pytest.raises(jsonschema.ValidationError) as stock:
        stock_check(result)
    with pytest.raises(jsonschema.ValidationError) as patched:
        rasa_patches.validate_action_result(RemoteAction("action_x", None), result)
    assert patched.value.message == stock.value.message
    assert "Failed to validate Action server response" in patched.value.message
    assert list(patched.value.path) == list(stock.value.path)


def test_the_same_invalid_answer_twice_gets_the_message_once():
    """The error is a new one each time: Rasa's hint is not appended to an earlier error again."""
    messages = []
    for _ in range(2):
        with pytest.raises(jsonschema.ValidationError) as error:
            rasa_patches.validate_action_result(RemoteAction("action_x", None), INVALID[0])
        messages.append(error.value.message)
    assert messages[0] == messages[1] and messages[0].count("Failed to validate") == 1


def test_the_rasa_server_uses_the_validator_built_once():
    """apply() installs it (checked in a process of its own: the patches change Rasa for good)."""
    code = (
        "from bot import rasa_patches; rasa_patches.apply()\n"
        "from rasa.core.actions.action import RemoteAction\n"
        "assert RemoteAction._validate_action_result is rasa_patches.validate_action_result\n"
        "import jsonschema\n"
        "try:\n"
        "    RemoteAction('a', None)._validate_action_result({'events': 'x'})\n"
        "except jsonschema.ValidationError as e:\n"
        "    print(e.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Failed to validate Action server response" in done.stdout


def test_events_read_back_as_the_same_events_with_their_classes_remembered():
    """Run where the patches are applied: conversations read from the store are the same events."""
    code = textwrap.dedent(
        """
        from bot import rasa_patches
        rasa_patches.apply()
        from rasa.shared.core import events
        stored = [
            events.SlotSet("location", "幸福小区3栋").as_dict(),
            events.ActiveLoop("report_form").as_dict(),
            events.UserUttered("确认", {"name": "affirm"}).as_dict(),
            events.ActionExecuted("action_listen").as_dict(),
        ]
        for _ in range(2):
            read = events.deserialise_events(stored)
            names = [type(e).__name__ for e in read]
            assert names == ["SlotSet", "ActiveLoop", "UserUttered", "ActionExecuted"], names
            assert [e.as_dict() for e in read] == stored
        assert events.Event.resolve_by_type("no_such_event", default=events.SlotSet) is events.SlotSet
        assert events.Event.resolve_by_type("topic") is None
        try:
            events.Event.resolve_by_type("no_such_event")
        except ValueError:
            print("unknown refused")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "unknown refused" in done.stdout


def test_without_the_patches_no_tracker_is_kept():
    """A channel then reads the conversation from the store, as before (bot/channels/updates.py)."""
    with rasa_patches.trackers_saved() as saved:
        pass
    assert saved == {}


def test_conversations_are_written_and_read_in_a_worker_thread(tmp_path):
    """The SQL tracker store gives back what it was given; its queries ran outside the event loop."""
    code = textwrap.dedent(
        f"""
        import asyncio, threading
        from bot import rasa_patches
        rasa_patches.apply()
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain
        from rasa.shared.core import events
        from rasa.shared.core.trackers import DialogueStateTracker

        domain = Domain.from_yaml("version: '3.1'\\nslots:\\n  location:\\n    type: text\\n    mappings: []\\n")
        store = SQLTrackerStore(domain, dialect="sqlite", db={str(tmp_path / "trackers.db")!r})
        threads = set()
        make_session = store.sessionmaker
        def recorded():
            threads.add(threading.get_ident())
            return make_session()
        store.sessionmaker = recorded

        async def main():
            tracker = DialogueStateTracker("resident-1", domain.slots)
            tracker.update(events.UserUttered("幸福小区3栋", {{"name": "inform"}}))
            tracker.update(events.SlotSet("location", "幸福小区3栋"))
            await store.save(tracker)
            read = await store.retrieve("resident-1")
            assert read.get_slot("location") == "幸福小区3栋"
            assert [e.as_dict() for e in read.events] == [e.as_dict() for e in tracker.events]
            assert await store.retrieve("nobody") is None
            assert threads and threading.get_ident() not in threads, threads
            print("round trip")

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "round trip" in done.stdout
