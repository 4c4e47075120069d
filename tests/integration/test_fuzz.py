"""Property-based requests (Hypothesis, with bodies drawn from the API's own OpenAPI schemas by
hypothesis-jsonschema, and arbitrary JSON besides) against the running web app's JSON API and
Rasa's REST webhook: whatever arrives, the answer is never a 5xx. Examples are derandomized, so
every run sends the same requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from bot.staff import accounts
from bot.store.db import session_scope
from tests.support.stack import get_json

pytestmark = pytest.mark.integration
FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=12,
)


def call(method: str, url: str, body=None, headers=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def api(stack):
    """The OpenAPI document as served, and a token per role."""
    suffix = uuid.uuid4().hex[:6]
    tokens = {}
    with session_scope(stack.env["MINSHENG_DATABASE_URL"]) as db:
        for role, department in (("dispatcher", None), ("department", "transport"), ("supervisor", None)):
            name = f"fuzz-{role}-{suffix}"
            accounts.create_user(db, name, "long-enough-pw", role, department)
            tokens[role] = accounts.issue_token(db, name)
    document = get_json(f"{stack.web_url}/api/v1/openapi.json")
    return document, tokens


def inlined(schema, document):
    """A schema with its $refs to the document's components replaced by what they name."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inlined(document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], document)
        return {key: inlined(value, document) for key, value in schema.items()}
    if isinstance(schema, list):
        return [inlined(item, document) for item in schema]
    return schema


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def request_strategy(document, tokens):
    numbers = st.sampled_from(["MS-20261126-0001", "ms20261126 0002", "", "../etc/passwd", "%00"]) | st.text(
        max_size=30
    )
    actions = st.sampled_from(
        document["paths"]["/api/v1/tickets/{number}/{action}"]["post"]["parameters"][1]["schema"]["enum"]
    ) | st.text(max_size=12)
    auth = st.sampled_from(list(tokens.values()) + ["ms_not-a-token", ""])

    @st.composite
    def one(draw):
        path, method, operation = draw(st.sampled_from(list(operations(document))))
        url_path = path.replace("{number}", urllib.parse.quote(draw(numbers), safe="")).replace(
            "{action}", urllib.parse.quote(draw(actions), safe="")
        )
        query = {}
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and draw(st.booleans()):
                query[parameter["name"]] = draw(from_schema(parameter["schema"]).map(str) | st.text(max_size=20))
        body = None
        if "requestBody" in operation:
            schema = inlined(operation["requestBody"]["content"]["application/json"]["schema"], document)
            schema.pop("title", None)
            body = draw(from_schema(schema) | ANY_JSON)
        return method, url_path + ("?" + urllib.parse.urlencode(query) if query else ""), body, draw(auth)

    return one()


@pytest.mark.parametrize("parameter", ["department", "category", "q", "status", "sort", "from", "page"])
def test_a_nul_in_a_queue_filter_is_an_empty_filter_not_a_server_error(stack, api, parameter):
    """PostgreSQL refuses NUL in a query: found by the fuzzing below in a department filter."""
    _, tokens = api
    path = "/api/v1/tickets?" + urllib.parse.urlencode({parameter: "\x00"})
    status, answer = call("GET", stack.web_url + path, headers={"Authorization": f"Bearer {tokens['dispatcher']}"})
    assert status == 200, answer[:300]
    assert "total" in json.loads(answer)


def test_the_json_api_never_answers_5xx(stack, api):
    document, tokens = api
    seen = set()

    @FUZZ
    @given(request_strategy(document, tokens))
    def check(request):
        method, path, body, token = request
        status, answer = call(method, stack.web_url + path, body, {"Authorization": f"Bearer {token}"})
        seen.add(status)
        assert status < 500, (method, path, body, answer[:300])

    check()
    assert {200, 401, 404} <= seen  # the examples reached real answers, not only refusals


REST_BODY = st.one_of(
    st.fixed_dictionaries({"sender": st.text(max_size=40), "message": st.text(max_size=300)}),
    st.fixed_dictionaries({"sender": st.just("fuzz-resident"), "message": st.text(max_size=300)}),
    ANY_JSON,
)


def test_the_rest_webhook_never_answers_5xx(stack):
    seen = set()

    @settings(FUZZ, max_examples=200)
    @given(REST_BODY)
    def check(body):
        status, answer = call("POST", f"{stack.rasa_url}/webhooks/rest/webhook", body)
        seen.add(status)
        assert status < 500, (body, answer[:300])
        if status == 200:
            assert isinstance(json.loads(answer), list)

    check()
    assert {200, 400} <= seen
