"""bot/rasa_patches.py: the action server's answers are checked as stock Rasa checks them, with a
validator built once."""

from __future__ import annotations

import json
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
    {
        "events": [
            {"event": "bot", "text": "您的工单 MS-2026-000001 已受理", "data": {"buttons": []}, "timestamp": None},
            {"event": "user", "text": "确认", "parse_data": {"intent": {"name": "affirm", "confidence": 0.9}}},
            {"event": "action", "name": "action_submit_report", "policy": None, "confidence": 1.0},
            {"event": "reset_slots"},
            {"event": "slot", "name": "phone", "value": None, "metadata": {}},
            {"event": "active_loop", "name": None},
            {"event": "action_execution_rejected", "name": "report_form"},
        ]
    },
]
INVALID = [
    {"events": "slot location"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},  # a slot without its name
    {"events": [], "responses": ["还有需要补充的吗"]},
    ["not an object"],
    {"events": [{"event": "slot", "name": 7, "value": "x"}]},  # the right event, a wrong field
    {"events": [{"event": "slot", "name": "phone", "value": "1"}, {"name": "phone"}]},  # no event name
    {"events": [{"event": 3}]},
    {"events": ["slot"]},
    {"events": None},
    {"events": [{"event": "user", "text": "你好", "parse_data": {"entities": [{"entity": "location"}]}}]},
    {"events": [{"event": "slot", "name": "phone"}]},  # a slot without its value
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


def test_every_event_rasa_writes_passes_as_it_passes_stock_rasa():
    """Each event of every kind, as Rasa serialises it, is an answer the action server may give."""
    from rasa.shared.core import events

    written = [
        events.UserUttered("楼道灯坏了", {"name": "report_problem", "confidence": 0.9}),
        events.BotUttered("在哪里？", {"buttons": []}),
        events.SlotSet("location", "幸福小区3栋"),
        events.Restarted(),
        events.AllSlotsReset(),
        events.ReminderScheduled("EXTERNAL_remind", __import__("datetime").datetime(2026, 11, 27, 9)),
        events.ReminderCancelled(name="remind"),
        events.ActionReverted(),
        events.UserUtteranceReverted(),
        events.StoryExported("story.yml"),
        events.FollowupAction("action_listen"),
        events.ConversationPaused(),
        events.ConversationResumed(),
        events.ActionExecuted("action_listen"),
        events.AgentUttered("你好"),
        events.ActiveLoop("report_form"),
        events.LegacyForm("report_form"),
        events.LoopInterrupted(True),
        events.LegacyFormValidation(False),
        events.ActionExecutionRejected("report_form"),
        events.SessionStarted(),
        events.EntitiesAdded([{"entity": "location", "value": "幸福小区"}]),
    ]
    result = {"events": [event.as_dict() for event in written]}
    assert stock_check(result) is True
    assert rasa_patches.validate_action_result(RemoteAction("action_x", None), result) is True


def test_each_event_is_checked_against_the_schema_its_name_selects():
    """The split schema exists for Rasa 3.6.21's response format, and it rejects what the whole
    schema rejects for one event: a slot event whose name is not a string."""
    split = rasa_patches._validators_by_event()
    assert split is not None
    outer, by_event = split
    assert len(by_event) == 23 and {"slot", "user", "bot", "followup"} <= set(by_event)
    assert outer.is_valid({"events": [{"event": "slot", "name": 7}]})  # the outer part alone lets it by
    assert not rasa_patches._valid_by_event({"events": [{"event": "slot", "name": 7}]})


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


SESSIONS_CODE = """
import asyncio, sys
from rasa.core.tracker_store import SQLTrackerStore
stock_query = SQLTrackerStore._event_query
from bot import rasa_patches
rasa_patches.apply()
from rasa.shared.core.domain import Domain
from rasa.shared.core import events
from rasa.shared.core.trackers import DialogueStateTracker

domain = Domain.from_yaml("version: '3.1'\\nslots:\\n  location:\\n    type: text\\n    mappings: []\\n")
store = SQLTrackerStore(domain, **KWARGS)

def said(text, at):
    return [
        events.UserUttered(text, {"name": "inform"}, timestamp=at),
        events.ActionExecuted("action_listen", timestamp=at + 0.5),
    ]

async def main():
    never_started = DialogueStateTracker("no-session", domain.slots)
    for e in said("你好", 10.0):
        never_started.update(e)
    await store.save(never_started)
    two = DialogueStateTracker("two-sessions", domain.slots)
    first = [events.SessionStarted(timestamp=100.0), *said("路灯坏了", 101.0)]
    for e in [*first, events.SlotSet("location", "幸福小区", timestamp=102.0)]:
        two.update(e)
    await store.save(two)
    later = await store.retrieve("two-sessions")
    for e in [events.SessionStarted(timestamp=200.0), *said("垃圾没人收", 201.0)]:
        later.update(e)
    await store.save(later)
    newest = await store.retrieve("two-sessions")
    newest.update(events.SlotSet("location", "阳光小区", timestamp=202.0))
    await store.save(newest)
    for sender in ("no-session", "two-sessions", "nobody"):
        for everything in (False, True):
            with store.session_scope() as session:
                stock = [(e.id, e.data) for e in stock_query(store, session, sender, everything).all()]
                ours = [(e.id, e.data) for e in store._event_query(session, sender, everything).all()]
                assert ours == stock, (sender, everything, ours, stock)
                assert store._event_query(session, sender, everything).count() == len(stock)
    read = await store.retrieve("two-sessions")
    assert [e.type_name for e in read.events] == ["session_started", "user", "action", "slot"], read.events
    assert read.get_slot("location") == "阳光小区"
    full = await store.retrieve_full_tracker("two-sessions")
    assert len(full.events) == 8, [e.as_dict() for e in full.events]  # each event stored once
    assert [e.text for e in (await store.retrieve("no-session")).events if e.type_name == "user"] == ["你好"]
    assert await store.retrieve("nobody") is None
    print("sessions read as stock Rasa reads them")

asyncio.run(main())
"""


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_latest_session_is_read_as_stock_rasa_reads_it(dialect, tmp_path):
    """The conversation's events since its latest session start, in order, each once: the patched
    query gives the rows stock Rasa's gives, on SQLite and on PostgreSQL."""
    from tests.support.scratch import scratch_database

    def run(kwargs: str) -> None:
        code = SESSIONS_CODE.replace("KWARGS", kwargs)
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "sessions read as stock Rasa reads them" in done.stdout

    if dialect == "sqlite":
        run(f"dict(dialect='sqlite', db={str(tmp_path / 'trackers.db')!r})")
        return
    with scratch_database("minsheng_sessions") as url:
        name = url.rsplit("/", 1)[1]
        run(f"dict(dialect='postgresql', host='127.0.0.1', port=5432, db={name!r}, username='postgres')")


def test_a_conversation_just_read_is_saved_without_counting_its_events_again(tmp_path):
    """Saving the tracker just read stores only the turn's new events, without the query counting the
    stored ones; a copy of a tracker (not the one read) is counted as stock Rasa counts it, so
    nothing is stored twice either way."""
    code = textwrap.dedent(
        f"""
        import asyncio
        import sqlalchemy as sa
        from bot import rasa_patches
        rasa_patches.apply()
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain
        from rasa.shared.core import events
        from rasa.shared.core.trackers import DialogueStateTracker

        store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db={str(tmp_path / "trackers.db")!r})
        counted = []
        sa.event.listen(store.engine, "before_cursor_execute",
                        lambda conn, cur, statement, *rest: counted.append("count(" in statement.lower()))

        async def main():
            first = DialogueStateTracker("resident", [])
            first.update(events.UserUttered("路灯坏了", {{"name": "report_problem"}}))
            await store.save(first)
            read = await store.retrieve("resident")
            read.update(events.ActionExecuted("action_listen"))
            counted.clear()
            await store.save(read)
            assert not any(counted), counted
            again = await store.retrieve("resident")
            copy = again.copy()
            copy.update(events.UserUttered("在人民路", {{"name": "inform"}}))
            counted.clear()
            await store.save(copy)
            assert any(counted), counted
            stored = [e.type_name for e in (await store.retrieve_full_tracker("resident")).events]
            assert stored == ["user", "action", "user"], stored
            print("stored once")

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stored once" in done.stdout


def test_ted_and_memoization_are_not_run_where_a_rule_has_decided_and_the_answers_stay_the_same(trained_model):
    """The trained assistant answers a greeting, a thank-you and a bare "好的" (turns its rules decide)
    first as stock Rasa, then with the patches: the same answers, and neither TED's network nor the
    memoization policy's look-up, run for every prediction by stock Rasa, is run. (Where their
    predictions count, see the next tests; the conversation tests run with the patches.)"""
    code = textwrap.dedent(
        f"""
        import asyncio, json
        from rasa.core.agent import Agent
        from rasa.core.policies.memoization import MemoizationPolicy
        from rasa.core.policies.rule_policy import RulePolicy
        from rasa.core.policies.ted_policy import TEDPolicy
        from bot import rasa_patches

        def talk():
            # The graph takes each policy's method when the model is loaded: load after apply().
            agent = Agent.load({str(trained_model)!r})
            policies = [node._component for node in agent.processor.graph_runner._instantiated_nodes.values()]
            ted = next(p for p in policies if isinstance(p, TEDPolicy))
            memo = next(p for p in policies if type(p) is MemoizationPolicy)
            assert any(isinstance(p, RulePolicy) for p in policies)
            runs = []
            inference = ted.model.run_inference
            ted.model.run_inference = lambda *a, **k: runs.append("ted") or inference(*a, **k)
            recall = memo.recall
            memo.recall = lambda *a, **k: runs.append("memo") or recall(*a, **k)
            out = []
            for text in ["你好", "谢谢你", "好的"]:
                before = len(runs)
                answers = asyncio.run(agent.handle_text(text, sender_id="resident"))
                out.append([[a.get("text") for a in answers], runs[before:]])
            return out

        stock = talk()
        rasa_patches.apply()
        patched = talk()
        print(json.dumps({{"stock": stock, "patched": patched}}, ensure_ascii=False))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stock, patched = result["stock"], result["patched"]
    assert [answers for answers, _ in patched] == [answers for answers, _ in stock]
    # stock Rasa runs both for every prediction of a turn
    assert all(runs.count("ted") >= 2 and runs.count("memo") >= 2 for _, runs in stock), stock
    assert all(runs == [] for _, runs in patched), patched


def test_the_graph_run_in_turn_gives_what_dask_gives(trained_model):
    """The trained model's NLU and policy graphs, run by stock Rasa's dask runner and by the patched
    one on the same messages and the same growing conversation (both scripts): the same parse, the
    same prediction, the same nodes each called once, each after what it needs and the rule policy
    before the other policies (dask's order among nodes that need nothing of each other varies from process to
    process with Python's string hashing); an input named like a node is refused."""
    code = textwrap.dedent(
        f"""
        import json
        from rasa.core.agent import Agent
        from rasa.core.channels.channel import UserMessage
        from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        from rasa.engine.exceptions import GraphRunError
        from rasa.engine.graph import GraphNode
        from rasa.engine.runner.dask import DaskGraphRunner
        from rasa.shared.core.events import ActionExecuted, UserUttered
        from rasa.shared.core.trackers import DialogueStateTracker
        from bot import rasa_patches

        called = []
        call = GraphNode.__call__
        GraphNode.__call__ = lambda self, *a, **k: called.append(self._node_name) or call(self, *a, **k)
        agent = Agent.load({str(trained_model)!r})
        runner, meta = agent.processor.graph_runner, agent.processor.model_metadata
        tracker = DialogueStateTracker("resident", agent.domain.slots)

        def in_order(order):
            steps = {{name: step for step, name in enumerate(order)}}
            nodes = runner._graph_schema.nodes
            return len(steps) == len(order) and all(
                steps[need] < steps[name] for name in order for need in nodes[name].needs.values() if need in steps
            )

        def both(inputs, target):
            out = []
            for run in (DaskGraphRunner.run, rasa_patches.run_graph_in_turn):
                called.clear()
                out.append((run(runner, inputs=inputs, targets=[target])[target], list(called)))
            return out

        texts = ["你好", "小区门口的路灯坏了好几天", "育才路25号 阳光小区东门", "沒有", "不留", "確認"]
        texts.append("我的问题处理得怎么样了")
        for text in texts:
            inputs = {{PLACEHOLDER_MESSAGE: [UserMessage(text)], PLACEHOLDER_TRACKER: tracker}}
            (dask, dask_order), (ours, our_order) = both(inputs, meta.nlu_target)
            parsed = [m.as_dict(only_output_properties=True) for m in (dask[0], ours[0])]
            assert parsed[0] == parsed[1], text
            assert sorted(dask_order) == sorted(our_order) and in_order(our_order), (dask_order, our_order)
            tracker.update(UserUttered(text, parsed[0]["intent"]))
            (dask, dask_order), (ours, our_order) = both({{PLACEHOLDER_TRACKER: tracker}}, meta.core_target)
            assert (dask.policy_name, dask.probabilities) == (ours.policy_name, ours.probabilities), text
            assert sorted(dask_order) == sorted(our_order) and in_order(our_order), (dask_order, our_order)
            rule = our_order.index("run_RulePolicy1")
            assert rule < our_order.index("run_TEDPolicy2") and rule < our_order.index("run_MemoizationPolicy0")
            best = max(range(len(ours.probabilities)), key=ours.probabilities.__getitem__)
            tracker.update(ActionExecuted(agent.domain.action_names_or_texts[best]))
            tracker.update(ActionExecuted("action_listen"))
        try:
            clash = {{PLACEHOLDER_TRACKER: meta.core_target}}
            rasa_patches.run_graph_in_turn(runner, inputs=clash, targets=[meta.core_target])
        except GraphRunError:
            print("same in turn")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "same in turn" in done.stdout


def _step(events, rule_confidence=1.0, rule_priority=6, text_features=False):
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.empty()
    tracker = DialogueStateTracker.from_events("resident", events)
    rule = PolicyPrediction([rule_confidence], "RulePolicy", policy_priority=rule_priority)
    tracker.__dict__[rasa_patches._RULE_NOTES] = {rasa_patches._prediction_key(tracker, domain): rule}

    class Ted:
        priority, only_e2e = 1, False
        fake_features = {"text": []} if text_features else {}

    return Ted(), tracker, domain


def test_ted_and_memoization_still_decide_where_the_rule_policy_is_not_sure_or_cannot_win():
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered

    listened = [ActionExecuted("action_listen"), UserUttered("好的", {"name": "affirm"})]
    assert rasa_patches.rule_decides(*_step(listened))
    assert not rasa_patches.rule_decides(*_step(listened, rule_confidence=0.3))  # the rules' fallback
    assert not rasa_patches.rule_decides(*_step(listened, rule_priority=1))
    assert not rasa_patches.rule_decides(*_step(listened, text_features=True))  # TED could answer from the text
    rejected = [*listened, ActionExecutionRejected("report_form")]
    assert not rasa_patches.rule_decides(*_step(rejected))  # the rule's action was just rejected

    class Memoization:  # no end-to-end attributes at all
        priority = 3

    _, tracker, domain = _step(listened)
    assert rasa_patches.rule_decides(Memoization(), tracker, domain)
    _, tracker, domain = _step(listened, rule_priority=3)
    assert not rasa_patches.rule_decides(Memoization(), tracker, domain)
    _, tracker, domain = _step(rejected)
    assert not rasa_patches.rule_decides(Memoization(), tracker, domain)


def test_a_rule_prediction_of_another_step_is_not_taken_for_this_one():
    from rasa.shared.core.events import ActionExecuted, UserUttered

    ted, tracker, domain = _step([ActionExecuted("action_listen"), UserUttered("好的", {"name": "affirm"})])
    tracker.update(ActionExecuted("utter_anything_else"))
    assert not rasa_patches.rule_decides(ted, tracker, domain)


@pytest.mark.parametrize("store", ["InMemoryLockStore()", "RedisLockStore(host='127.0.0.1', port=6379, db=12)"])
def test_messages_of_one_conversation_still_take_turns_with_the_lock_store_off_the_loop(store):
    """Two messages of one conversation arrive together: the second is handled only once the first
    is done, as in stock Rasa; the store is called from its own thread; nothing is left locked."""
    code = textwrap.dedent(
        f"""
        import asyncio, threading, uuid
        from bot import rasa_patches; rasa_patches.apply()
        from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

        store = {store}
        threads, order = set(), []
        get_lock = store.get_lock
        store.get_lock = lambda *a: threads.add(threading.current_thread().name) or get_lock(*a)
        conversation = uuid.uuid4().hex

        async def message(name, seconds):
            async with store.lock(conversation, wait_time_in_seconds=0.05):
                order.append(name + " in")
                await asyncio.sleep(seconds)
                order.append(name + " out")

        async def both():
            first = asyncio.create_task(message("first", 0.3))
            await asyncio.sleep(0.05)
            await message("second", 0)
            await first

        asyncio.run(both())
        print(order, sorted(threads), get_lock(conversation))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "['first in', 'first out', 'second in', 'second out'] ['lock-store_0'] None"


async def test_action_calls_send_the_same_json_written_by_ujson(aiohttp_server):
    """The action server reads the same body as from stock Rasa, Chinese unescaped; a body ujson
    cannot write (NaN) is still sent as json.dumps writes it."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    received = []

    async def handle(request):
        received.append(await request.read())
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", handle)
    server = await aiohttp_server(app)
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook", headers={"X-Token": "t"})
    body = {
        "next_action": "validate_report_form",
        "tracker": {"events": [{"event": "user", "text": "小区门口的路灯坏了 / 很黑", "timestamp": 1733600000.123456}]},
        "slots": {"place": None, "count": 3, "urgent": False},
    }
    for sent in (body, {**body, "score": float("nan")}):
        async with rasa_patches.endpoint_session(endpoint) as session:
            async with session.post(endpoint.url, json=sent) as response:
                assert response.status == 200
        raw = received[-1].decode("utf-8")
        read = json.loads(raw)
        assert json.dumps(read, sort_keys=True) == json.dumps(json.loads(json.dumps(sent)), sort_keys=True)
    assert "路灯坏了 / 很黑" in received[0].decode("utf-8")
    assert len(received[0]) < len(json.dumps(body).encode("utf-8"))
    with pytest.raises(TypeError):
        rasa_patches.write_json({"when": object()})


def test_the_rasa_server_writes_action_calls_with_ujson():
    code = (
        "from bot import rasa_patches; rasa_patches.apply()\n"
        "from rasa.utils.endpoints import EndpointConfig\n"
        "assert EndpointConfig.session is rasa_patches.endpoint_session\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


class _Policy:
    """Stands in for a RulePolicy: what the remembered look-up needs of one (an instance dict)."""


def test_the_rules_that_match_are_remembered_per_states_and_worked_out_anew_when_the_rules_change():
    asked = []

    def stock(self, lookup, states):
        asked.append(len(states))
        return {k for k in lookup if all(s.get("user", {}).get("intent") != k for s in states)}

    remembered = rasa_patches.remembered_possible_keys(stock)
    policy, lookup = _Policy(), {"greet": "utter_greet", "thank": "utter_welcome", "stop": "action_stop"}
    states = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet", "entities": ("place",)}}]
    first = remembered(policy, lookup, states)
    assert first == stock(policy, lookup, states) == {"thank", "stop"}
    asked.clear()
    first.add("changed by the caller")
    again = [{"user": {"entities": ("place",), "intent": "greet"}, "prev_action": {"action_name": "action_listen"}}]
    assert remembered(policy, lookup, again) == {"thank", "stop"} and asked == []  # the same states, other order
    lookup.pop("stop")  # as training removes rules
    assert remembered(policy, lookup, states) == {"thank"} and asked == [1]
    assert remembered(policy, {"greet": "x"}, states) == set() and asked == [1, 1]
    unhashable = [{"user": {"intent": "greet", "entities": ["place"]}}]
    assert remembered(policy, lookup, unhashable) == {"thank"} and asked == [1, 1, 1]
    assert remembered(policy, lookup, unhashable) == {"thank"} and asked == [1, 1, 1, 1]  # asked every time


def test_the_remembered_rules_are_the_rule_policys_own_on_the_trained_model(trained_model):
    """Every look-up the trained rule policy makes in report conversations in both scripts, asked
    again of the remembered look-up twice (worked out, then remembered): the same rules."""
    code = textwrap.dedent(
        f"""
        import asyncio
        from rasa.core.agent import Agent
        from rasa.core.policies.rule_policy import RulePolicy
        from bot import rasa_patches

        agent = Agent.load({str(trained_model)!r})
        stock = RulePolicy._get_possible_keys
        calls = []

        def noting(self, lookup, states):
            found = stock(self, lookup, states)
            calls.append((self, lookup, states, found))
            return found

        RulePolicy._get_possible_keys = noting
        script = ["你好", "小区门口的路灯坏了", "红星小区3号楼", "没有", "不留", "确认", "我的问题处理得怎么样了",
                  "樓道的燈壞了好幾天", "紅星小區5號樓", "沒有", "不留", "確認", "谢谢你", "好的"]
        for number, text in enumerate(script):
            asyncio.run(agent.handle_text(text, sender_id="resident-" + str(number // 7)))
        RulePolicy._get_possible_keys = stock
        remembered = rasa_patches.remembered_possible_keys(stock)
        for _ in range(2):
            for policy, lookup, states, found in calls:
                assert remembered(policy, lookup, states) == found
        print(len(calls), len({{rasa_patches._states_key(states) for _, _, states, _ in calls}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    calls, distinct = map(int, done.stdout.strip().splitlines()[-1].split())
    assert calls >= 20 and distinct >= 10, (calls, distinct)
