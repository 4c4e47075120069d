"""Small changes to Rasa Open Source 3.6.21, under faults and for speed, applied when the product's
Rasa server starts (`minsheng serve rasa`); installed files are never edited.

Stock Rasa hides the failures of the parts it depends on, and the resident pays for it:
- an action server that is down, hung or answering 500 makes Rasa log the error, drop the action's
  events and carry on: the resident gets an empty or half answer, and the turn is saved as if the
  action had run (the confirmation of a report is eaten);
- a tracker store that cannot be read makes Rasa start a *new* conversation for the message (the
  resident mid-report is answered "没太看明白"), and one that cannot be written keeps the turn in
  memory only;
- the action endpoint waits up to five minutes for an answer.

Here each such failure raises `ServiceUnavailable` out of the message handling before the turn is
saved. The channels (bot/channels/updates.py) answer the resident honestly that the system is busy
and to send the message again; since nothing of the turn was kept, sending it again once the fault
is over continues exactly where the conversation was (a report confirmed twice still gives one
ticket: the submission key is the report's). Rasa's HTTP API answers 500 instead, and the
deliverer tries again later.

The changes below are for speed only, each measured with `make benchmark-chat` (docs/benchmarks.md):
- Rasa checks every action-server answer against its response schema with `jsonschema.validate`,
  which checks the schema itself and builds a validator on every call (about a third of the Rasa
  process's CPU in a report conversation); here the validator is built once, each event is checked
  against the one event schema its name selects rather than against all 23 in turn, and the same
  answers pass as before, the same error raised for an invalid one;
- every event read from the tracker store looks its class up by walking all subclasses of `Event`;
  here a type name, once found, is remembered;
- the tracker a turn saved is kept for the rest of that message's handling (`trackers_saved`), so
  the channels learn whether updates wait for the resident without reading the conversation back;
- the body of every action call (the whole conversation and the domain) is written by ujson, in
  about half the time of `json.dumps` and a third shorter (`write_json`);
- Rasa's SQL tracker store is synchronous inside its `async` methods: every read and write of a
  conversation blocked the server's event loop while the database answered. Here its own reading
  and writing run in a worker thread; the query for a conversation's latest session takes that
  session's start once rather than once per event (`event_query`), a read takes only the
  events' data, the one column it uses (`retrieve`), and a write stores a turn's events in one
  statement rather than one round trip each, without counting again the events just read (`save`);
- every policy predicts every step, and the ensemble then takes the surest (on a tie, the one of
  higher priority): when the rule policy is sure, TED's neural network ran for a prediction that
  was thrown away. Here TED answers "nothing" for such a step without running it, only where the
  outcome cannot differ (`rule_decides`); the conversation tests run with the patches;
- the lock store (Redis with several Rasa processes) was called synchronously in the event loop,
  about seven round trips per message; here its calls run in a thread of its own, one at a time;
- the rule policy tests each of its rules against the conversation's states on every step; here
  the rules that match a given sequence of states are remembered (`remembered_possible_keys`);
- Rasa runs its NLU and policy graphs (three or four runs a message) through dask, which builds and
  schedules the graph anew each time; here the nodes are called in turn, each after what it needs,
  from a plan made once per set of targets (`run_graph_in_turn`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import itertools
import json
import logging
import weakref
from dataclasses import dataclass
from typing import Any, AsyncIterator, Dict, FrozenSet, Iterator, List, Optional, Tuple

import aiohttp

from bot import errors

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
_failure: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("minsheng_failure", default=None)
_saved_trackers: contextvars.ContextVar[Optional[Dict[str, Any]]] = contextvars.ContextVar(
    "minsheng_saved_trackers", default=None
)
_applied = False


class ServiceUnavailable(errors.ServiceUnavailable):
    """A part the conversation depends on (action server, tracker store) failed during a turn."""


def apply(action_timeout: float = 20.0) -> None:
    """Patches Rasa once per process; refuses a Rasa version the patches were not written for."""
    global _applied
    import rasa
    from rasa.core import tracker_store
    from rasa.core.actions import action
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core import events
    from rasa.shared.exceptions import RasaException

    if rasa.__version__ != RASA_VERSION:
        raise RuntimeError(f"bot/rasa_patches.py is written for Rasa {RASA_VERSION}, not {rasa.__version__}")
    if _applied:
        return
    _applied = True

    # The action server answers within `action_timeout` seconds or counts as unavailable.
    action.DEFAULT_REQUEST_TIMEOUT = action_timeout

    remote_run = action.RemoteAction.run

    async def run_remote(self, *args, **kwargs):
        try:
            return await remote_run(self, *args, **kwargs)
        except action.ActionExecutionRejection:
            raise  # a form's "not this slot": part of the conversation, not a fault
        except (RasaException, aiohttp.ClientError, asyncio.TimeoutError) as error:
            _failure.set(f"action server failed running {self.name()}: {error!r}")
            raise

    action.RemoteAction.run = run_remote

    run_action = MessageProcessor._run_action

    async def run_action_or_fail(self, *args, **kwargs):
        token = _failure.set(None)
        try:
            result = await run_action(self, *args, **kwargs)
            failure = _failure.get()
        finally:
            _failure.reset(token)
        if failure:
            raise ServiceUnavailable(failure)
        return result

    MessageProcessor._run_action = run_action_or_fail

    def store_failed(self, error: Exception) -> None:
        raise ServiceUnavailable(f"tracker store failed: {error!r}") from error

    tracker_store.FailSafeTrackerStore.on_tracker_store_error = store_failed
    tracker_store.FailSafeTrackerStore.on_tracker_store_retrieve_error = store_failed

    # PostgreSQL restarted under a running Rasa: test pooled connections before use.
    engine_kwargs = tracker_store.create_engine_kwargs

    def engine_kwargs_with_pre_ping(url: Any) -> Dict[str, Any]:
        kwargs = engine_kwargs(url)
        return {**kwargs, "pool_pre_ping": True} if tracker_store.is_postgresql_url(url) else kwargs

    tracker_store.create_engine_kwargs = engine_kwargs_with_pre_ping

    action.RemoteAction._validate_action_result = validate_action_result

    # Request bodies (the whole conversation, for every action call) written by ujson.
    from rasa.utils import endpoints

    endpoints.EndpointConfig.session = endpoint_session

    # An event's class by its type name: found once, not by walking Event's subclasses per event.
    resolve_by_type = events.Event.resolve_by_type
    resolved: Dict[str, Any] = {}

    def resolve_by_type_once(type_name: str, default: Any = None) -> Any:
        found = resolved.get(type_name)
        if found is None:
            found = resolve_by_type(type_name, default)
            if found is not None and found is not default:
                resolved[type_name] = found
        return found

    events.Event.resolve_by_type = staticmethod(resolve_by_type_once)

    save_tracker = MessageProcessor.save_tracker

    async def save_and_keep(self, tracker):
        await save_tracker(self, tracker)
        kept = _saved_trackers.get()
        if kept is not None:
            kept[tracker.sender_id] = tracker

    MessageProcessor.save_tracker = save_and_keep

    # The SQL tracker store's queries in a worker thread, not in the event loop.

    async def retrieve_off_the_loop(self, sender_id, fetch_events_from_all_sessions):
        return await asyncio.to_thread(retrieve, self, sender_id, fetch_events_from_all_sessions)

    async def save_off_the_loop(self, tracker):
        await self.stream_events(tracker)  # the event broker, if any, in the loop as before
        await asyncio.to_thread(save, self, tracker)

    tracker_store.SQLTrackerStore._retrieve = retrieve_off_the_loop
    tracker_store.SQLTrackerStore.save = save_off_the_loop
    tracker_store.SQLTrackerStore._event_query = event_query

    from rasa.core import lock_store

    lock_store.LockStore.lock = lock_off_the_loop

    # TED's network and the memoization policy's look-up are not run for a prediction the rule
    # policy has already decided (the graph plan runs the rule policy first).
    from rasa.core.policies.memoization import MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.policies.ted_policy import TEDPolicy

    rule_predict = RulePolicy.predict_action_probabilities

    def rule_predict_and_note(self, tracker, domain, *args, **kwargs):
        prediction = rule_predict(self, tracker, domain, *args, **kwargs)
        notes = tracker.__dict__.setdefault(_RULE_NOTES, {})
        notes.clear()
        notes[_prediction_key(tracker, domain)] = prediction
        return prediction

    def unless_decided(predict):
        def predict_unless_decided(self, tracker, domain, *args, **kwargs):
            if rule_decides(self, tracker, domain):
                return self._prediction(self._default_predictions(domain))
            return predict(self, tracker, domain, *args, **kwargs)

        return predict_unless_decided

    # RulePolicy is a MemoizationPolicy: its own method is set after, and is not wrapped.
    for policy in (TEDPolicy, MemoizationPolicy):
        policy.predict_action_probabilities = unless_decided(policy.predict_action_probabilities)
    RulePolicy.predict_action_probabilities = rule_predict_and_note
    RulePolicy._get_possible_keys = remembered_possible_keys(RulePolicy._get_possible_keys)

    from rasa.engine.runner.dask import DaskGraphRunner

    DaskGraphRunner.run = run_graph_in_turn
    logger.info("fault handling patches applied to Rasa %s", RASA_VERSION)


def retrieve(self: Any, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
    """SQLTrackerStore._retrieve of Rasa 3.6.21 (synchronous, for a worker thread), reading only the
    events' data column, the one it uses, rather than building an ORM object of every row."""
    from rasa.shared.core.trackers import DialogueStateTracker

    with self.session_scope() as session:
        rows = (
            self._event_query(session, sender_id, fetch_events_from_all_sessions)
            .with_entities(self.SQLEvent.data)
            .all()
        )
        events = [json.loads(row.data) for row in rows]
        if self.domain and events:
            logger.debug("Recreating tracker from sender id '%s'", sender_id)
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
            if not fetch_events_from_all_sessions:
                _note_stored(tracker, len(events))
            return tracker
        logger.debug("Can't retrieve tracker matching sender id '%s' from SQL storage: None", sender_id)
        return None


def run_graph_in_turn(
    self: Any, inputs: Optional[Dict[str, Any]] = None, targets: Optional[List[str]] = None
) -> Dict[str, Any]:
    """DaskGraphRunner.run of Rasa 3.6.21 without dask: the nodes the targets need, called one after
    the other in an order worked out once per set of targets (each node after what it needs, the
    rest in the order they are needed, the rule policy before the other policies, so that
    `rule_decides` can read its note), each given its needs' results as dask gives them. The same
    results; what goes is dask's scheduling and the minimal schema built anew on every run, about
    half a millisecond for each of the three or four graph runs of a message. (Dask's own order
    among nodes that need nothing of each other varies from process to process with Python's string
    hashing.)"""
    from rasa.engine.exceptions import GraphRunError

    run_targets = targets if targets else self._graph_schema.target_names
    plans = self.__dict__.setdefault("_minsheng_plans", {})
    plan = plans.get(tuple(run_targets))
    if plan is None:
        plan = plans[tuple(run_targets)] = _graph_plan(self._graph_schema, run_targets)
    results: Dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and value in plan.nodes:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names "
                f"passed to the `run` method are the same as node names in the graph schema."
            )
        results[name] = (name, value)
    try:
        for name, needs in plan.steps:
            results[name] = self._instantiated_nodes[name](*(results.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results.get(target, target) for target in run_targets)


@dataclass(frozen=True)
class _GraphPlan:
    nodes: FrozenSet[str]
    steps: Tuple[Tuple[str, Tuple[str, ...]], ...]  # (node, the names of what it needs, in order)


def _graph_plan(schema: Any, targets: List[str]) -> _GraphPlan:
    from rasa.core.policies.rule_policy import RulePolicy

    minimal = schema.minimal_graph_schema(targets)
    order: List[str] = []

    def rule_policy_first(name: str) -> bool:
        node = minimal.nodes.get(name)
        return not (node is not None and isinstance(node.uses, type) and issubclass(node.uses, RulePolicy))

    def visit(name: str) -> None:
        if name in order or name not in minimal.nodes:
            return
        for need in sorted(minimal.nodes[name].needs.values(), key=rule_policy_first):
            visit(need)
        order.append(name)

    for name in [*targets, *minimal.nodes]:
        visit(name)
    return _GraphPlan(
        frozenset(minimal.nodes), tuple((name, tuple(minimal.nodes[name].needs.values())) for name in order)
    )


def save(self: Any, tracker: Any) -> None:
    """SQLTrackerStore.save of Rasa 3.6.21 without its event streaming (done in the event loop),
    for a worker thread: the events not yet stored written in one INSERT of many rows (an
    executemany, which SQLAlchemy's psycopg2 dialect sends as one statement), not one INSERT and
    round trip per event through the ORM. Same rows, in the same order, in one transaction."""
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    with self.session_scope() as session:
        rows = []
        for event in _events_not_stored(self, session, tracker):
            data = event.as_dict()
            rows.append(
                {
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
            )
        if rows:
            session.execute(self.SQLEvent.__table__.insert(), rows)
        session.commit()
    logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)


# How many of a tracker's events the store holds, for the trackers `retrieve` has just read: the
# events of its latest session, all of them. Saving that tracker then skips Rasa's query counting
# them again; the conversation's lock keeps any other writer away in between. Keyed by the tracker
# object itself (a copy of it is not in here and is counted by the query, as stock Rasa counts it);
# an entry goes when it is used or when its tracker is gone.
_stored_counts: Dict[int, Tuple[Any, int]] = {}


def _note_stored(tracker: Any, count: int) -> None:
    key = id(tracker)

    def forget(_gone: Any) -> None:
        _stored_counts.pop(key, None)

    _stored_counts[key] = (weakref.ref(tracker, forget), count)


def _events_not_stored(self: Any, session: Any, tracker: Any) -> Any:
    """SQLTrackerStore._additional_events, without its count where `retrieve` has just read them."""
    noted = _stored_counts.pop(id(tracker), None)
    if noted is not None and noted[0]() is tracker:
        return itertools.islice(tracker.events, noted[1], len(tracker.events))
    return self._additional_events(session, tracker)


def event_query(self: Any, session: Any, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
    """SQLTrackerStore._event_query of Rasa 3.6.21 with the start of the latest session as a scalar
    subquery: the same events in the same order. Rasa joins the events to a derived table holding
    that start, and PostgreSQL, its statistics reckoning one event per conversation, plans a nested
    loop that takes the maximum again for every event of the conversation, each time over all its
    events (1–1.7 ms of execution for a 106-event report conversation, read on every message); a
    scalar subquery is worked out once (an InitPlan: 0.16 ms)."""
    import sqlalchemy as sa
    from rasa.shared.core.events import SessionStarted

    event = self.SQLEvent
    query = session.query(event).filter(event.sender_id == sender_id)
    if not fetch_events_from_all_sessions:
        session_start = (
            session.query(sa.func.max(event.timestamp))
            .filter(event.sender_id == sender_id, event.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        query = query.filter(sa.or_(event.timestamp >= session_start, session_start.is_(None)))
    return query.order_by(event.id)


# The lock store's work, one call at a time, in a thread of its own: each call as atomic with respect
# to the others as when the event loop ran them, and the loop free while Redis answers.
_lock_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lock-store")


async def _in_lock_thread(function: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_lock_thread, functools.partial(function, *args))


@contextlib.asynccontextmanager
async def lock_off_the_loop(
    self: Any, conversation_id: str, lock_lifetime: float = -1, wait_time_in_seconds: float = 1
) -> AsyncIterator[Any]:
    """LockStore.lock of Rasa 3.6.21 (a ticket, a wait for one's turn, the clean-up), each of its
    calls to the store made in the lock store's thread. Rasa's calls pass no lifetime (its default,
    LOCK_LIFETIME, read from the environment at start-up)."""
    from rasa.core.lock_store import LOCK_LIFETIME, LockError

    lifetime = LOCK_LIFETIME if lock_lifetime < 0 else lock_lifetime
    ticket = await _in_lock_thread(self.issue_ticket, conversation_id, lifetime)
    try:
        while True:
            lock = await _in_lock_thread(self.get_lock, conversation_id)
            if not lock:  # expired
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            if not lock.is_locked(ticket):
                break
            await asyncio.sleep(wait_time_in_seconds)
            await _in_lock_thread(self.update_lock, conversation_id)
        yield lock
    finally:
        await _in_lock_thread(self.cleanup, conversation_id, ticket)


_RULE_NOTES = "_minsheng_rule_predictions"


def _prediction_key(tracker: Any, domain: Any) -> tuple:
    """One prediction step of one conversation: the predictions of a step all see the same events."""
    return (id(domain), len(tracker.events))


def rule_decides(policy: Any, tracker: Any, domain: Any) -> bool:
    """Whether the rule policy's prediction for this step (made just before, in the same graph run)
    wins whatever `policy` (TED or the memoization policy) predicts, so that its prediction would be
    thrown away: the rule policy is sure (1.0; on a tie the ensemble takes the higher priority, and
    the rule policy's is higher), the action it predicts was not just rejected (the ensemble then sets
    it to 0 in every prediction), and `policy` cannot make an end-to-end prediction (one from the
    message's text would set aside every prediction made from the intent, the rule policy's
    included; the memoization policy never makes one)."""
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
    from rasa.shared.nlu.constants import TEXT

    prediction = tracker.__dict__.get(_RULE_NOTES, {}).get(_prediction_key(tracker, domain))
    if prediction is None or prediction.max_confidence < 1.0 or prediction.policy_priority <= policy.priority:
        return False
    if getattr(policy, "only_e2e", False) or TEXT in getattr(policy, "fake_features", {}):
        return False
    last_action = next(
        (e for e in reversed(tracker.events) if isinstance(e, (ActionExecuted, ActionExecutionRejected))), None
    )
    return not isinstance(last_action, ActionExecutionRejected)


_KEYS_MEMO = "_minsheng_possible_keys"
_KEYS_MEMO_SIZE = 4096  # conversation states remembered per lookup; forgotten all at once when full


def _states_key(states: List[Dict[str, Dict[str, Any]]]) -> Optional[tuple]:
    """A conversation's states (the rule policy's input) as a key: each state's parts and their
    values, in order. None where a value cannot be a key (the policy is then asked as it is)."""
    try:
        key = tuple(
            tuple(sorted((part, tuple(sorted(values.items()))) for part, values in state.items())) for state in states
        )
        hash(key)
    except TypeError:
        return None
    return key


def remembered_possible_keys(get_possible_keys: Any) -> Any:
    """RulePolicy._get_possible_keys, remembered: the rules whose states match the conversation's
    are worked out by testing every rule of the lookup against every state, again on every step of
    every conversation, though they depend only on the lookup's rules and the states. Remembered
    per lookup and checked against its rules on every call, so a lookup changed (as training changes
    them) is worked out anew."""

    def possible_keys(self: Any, lookup: Dict[str, str], states: List[Dict[str, Any]]) -> Any:
        key = _states_key(states)
        if key is None:
            return get_possible_keys(self, lookup, states)
        memos = self.__dict__.setdefault(_KEYS_MEMO, {})
        held = memos.get(id(lookup))
        if held is None or held[0] is not lookup or held[1] != lookup.keys():
            held = memos[id(lookup)] = (lookup, frozenset(lookup), {})
        memo = held[2]
        found = memo.get(key)
        if found is None:
            if len(memo) >= _KEYS_MEMO_SIZE:
                memo.clear()
            found = memo[key] = frozenset(get_possible_keys(self, lookup, states))
        return set(found)

    return possible_keys


@contextlib.contextmanager
def trackers_saved() -> Iterator[Dict[str, Any]]:
    """The trackers Rasa saves while the block runs (in this task: one message's handling), by
    conversation id, as they were saved. Stays empty where the patches are not applied."""
    kept: Dict[str, Any] = {}
    token = _saved_trackers.set(kept)
    try:
        yield kept
    finally:
        _saved_trackers.reset(token)


def write_json(value: Any) -> str:
    """A request body as JSON: by ujson (a Rasa dependency) in about half the time of the standard
    library's `json.dumps`, which aiohttp uses by default, and with Chinese written as UTF-8
    rather than escaped (a third shorter). What ujson refuses (NaN, integers beyond 64 bits) is
    written by `json.dumps` as before, and what neither can write raises its TypeError."""
    import ujson

    try:
        return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)
    except (OverflowError, TypeError):
        return json.dumps(value)


def endpoint_session(self: Any) -> aiohttp.ClientSession:
    """EndpointConfig.session of Rasa 3.6.21 writing its JSON bodies with `write_json`: the same
    headers, authentication and timeout."""
    from rasa.utils import endpoints

    auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
    return aiohttp.ClientSession(
        headers=self.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
        json_serialize=write_json,
    )


@functools.lru_cache(maxsize=None)
def _action_result_validator() -> Any:
    """The validator `jsonschema.validate` would build for Rasa's action response schema, built once
    (the schema checked once, as `validate` checks it on every call)."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.lru_cache(maxsize=None)
def _validators_by_event() -> Optional[Tuple[Any, Dict[str, Any]]]:
    """The response schema split where it is slow: each event must match exactly one of 23 event
    schemas (`oneOf`), so jsonschema checks every event against all 23. Each of those schemas fixes
    `event` to a name of its own (`const`), so an event that its own schema accepts fails every
    other one: "exactly one" is "its own". Returned: a validator of the schema without the `oneOf`,
    and one validator per event name. None where the schema is not of that shape."""
    import copy

    whole = _action_result_validator()
    schema = whole.schema
    items = schema.get("properties", {}).get("events", {}).get("items", {})
    alternatives = items.get("oneOf") or []
    names = [alt.get("properties", {}).get("event", {}).get("const") for alt in alternatives]
    shape = {"type", "properties", "required", "oneOf"}
    if not alternatives or None in names or len(set(names)) != len(names) or set(items) - shape:
        return None
    outer = copy.deepcopy(schema)
    outer["properties"]["events"]["items"] = {k: v for k, v in items.items() if k != "oneOf"}
    cls = type(whole)
    return cls(outer), {name: cls(alt) for name, alt in zip(names, alternatives)}


def _valid_by_event(result: Any) -> bool:
    """True only where the whole schema accepts `result`; False means "check it in full"."""
    split = _validators_by_event()
    if split is None:
        return False
    outer, by_event = split
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or ():
        own = by_event.get(event["event"])
        if own is None or not own.is_valid(event):
            return False
    return True


def validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result of Rasa 3.6.21 with the validator built once and each
    event checked against its own event schema (`_validators_by_event`): the same answers accepted,
    and for an invalid one the same error (jsonschema's best match over the whole schema, with
    Rasa's hint appended)."""
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    if _valid_by_event(result):
        return True
    error = exceptions.best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True
