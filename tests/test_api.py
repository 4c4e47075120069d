"""The JSON API: bearer tokens, the same permissions and state table as the console."""

import pytest

from bot import taxonomy
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.tickets import NewReport, create_ticket
from bot.web.app import create_app
from tests.support.web import web_settings


@pytest.fixture
def tokens(sqlite_url):
    with session_scope(sqlite_url) as db:
        for name, role, department in (
            ("disp", "dispatcher", None),
            ("roads", "department", "transport"),
            ("trash", "department", "sanitation"),
        ):
            accounts.create_user(db, name, "long-enough-pw", role, department)
        road, _ = create_ticket(db, NewReport("r", "c", "路灯坏了", "roads", phone="13812345678"), taxonomy.load())
        found = {name: accounts.issue_token(db, name) for name in ("disp", "roads", "trash")}
        found["number"] = road.number
        return found


@pytest.fixture
async def client(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(web_settings(sqlite_url)))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_is_needed(client, tokens):
    assert (await client.get("/api/v1/tickets")).status == 401
    assert (await client.get("/api/v1/tickets", headers=bearer("ms_forged"))).status == 401


async def test_dispatch_and_resolve_through_the_api(client, tokens):
    number = tokens["number"]
    listing = await (await client.get("/api/v1/tickets?category=roads", headers=bearer(tokens["disp"]))).json()
    assert [t["number"] for t in listing["tickets"]] == [number]
    response = await client.post(
        f"/api/v1/tickets/{number}/dispatch",
        headers=bearer(tokens["disp"]),
        json={"lead": "transport", "assisting": ["utilities"]},
    )
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "dispatched" and body["assisting_departments"] == ["utilities"]
    response = await client.post(
        f"/api/v1/tickets/{number}/resolve", headers=bearer(tokens["roads"]), json={"note": ""}
    )
    assert response.status == 409
    response = await client.post(
        f"/api/v1/tickets/{number}/resolve", headers=bearer(tokens["roads"]), json={"note": "灯已修好"}
    )
    body = await response.json()
    assert body["status"] == "resolved" and body["history"][-1]["note"] == "灯已修好"


async def test_other_departments_get_404_and_change_nothing(client, tokens):
    number = tokens["number"]
    assert (await client.get(f"/api/v1/tickets/{number}", headers=bearer(tokens["trash"]))).status == 404
    response = await client.post(f"/api/v1/tickets/{number}/start", headers=bearer(tokens["trash"]), json={})
    assert response.status == 404
    body = await (await client.get(f"/api/v1/tickets/{number}", headers=bearer(tokens["disp"]))).json()
    assert body["status"] == "submitted"


async def test_wrong_role_and_bad_bodies(client, tokens):
    number = tokens["number"]
    response = await client.post(
        f"/api/v1/tickets/{number}/dispatch", headers=bearer(tokens["roads"]), json={"lead": "transport"}
    )
    assert response.status == 403
    response = await client.post(f"/api/v1/tickets/{number}/dispatch", headers=bearer(tokens["disp"]), data="not json")
    assert response.status == 400
    response = await client.post(f"/api/v1/tickets/{number}/explode", headers=bearer(tokens["disp"]), json={})
    assert response.status == 404


async def test_the_openapi_document_describes_every_route(client):
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/tickets",
        "/api/v1/tickets/{number}",
        "/api/v1/tickets/{number}/duplicates",
        "/api/v1/tickets/{number}/{action}",
        "/api/v1/knowledge",
        "/api/v1/knowledge/questions",
        "/api/v1/knowledge/{entry_id}",
        "/api/v1/knowledge/{entry_id}/publish",
        "/api/v1/knowledge/{entry_id}/unpublish",
    }
    routes = {
        r.resource.canonical
        for r in client.app.router.routes()
        if r.resource and r.resource.canonical.startswith("/api/v1/")
    }
    assert routes - {"/api/v1/openapi.json"} == set(document["paths"])


async def test_filing_through_the_api(client, tokens, monkeypatch):
    monkeypatch.setenv("MINSHENG_RASA_URL", "http://127.0.0.1:1")  # no Rasa here: the category is given
    response = await client.post(
        "/api/v1/tickets",
        headers=bearer(tokens["disp"]),
        json={"description": "网格员走访：3栋楼道灯坏了", "channel": "visit", "category": "building"},
    )
    assert response.status == 201
    body = await response.json()
    assert body["channel"] == "visit" and body["category"] == "building" and body["status"] == "submitted"
    response = await client.post(
        "/api/v1/tickets",
        headers=bearer(tokens["disp"]),
        json={"description": "网格员走访：3栋楼道灯坏了", "channel": "visit"},
    )
    assert response.status == 422 and "手动选择类别" in (await response.json())["error"]
    response = await client.post(
        "/api/v1/tickets", headers=bearer(tokens["disp"]), json={"description": "", "channel": "visit"}
    )
    assert response.status == 422


async def test_a_phone_follow_up_through_the_api_closes_a_satisfied_ticket(client, tokens):
    number = tokens["number"]
    await client.post(f"/api/v1/tickets/{number}/dispatch", headers=bearer(tokens["disp"]), json={"lead": "transport"})
    early = await client.post(
        f"/api/v1/tickets/{number}/follow_up", headers=bearer(tokens["disp"]), json={"rating": "4"}
    )
    assert early.status == 409  # nothing resolved yet, nothing to rate
    await client.post(f"/api/v1/tickets/{number}/resolve", headers=bearer(tokens["roads"]), json={"note": "灯已修好"})
    own = await client.post(
        f"/api/v1/tickets/{number}/follow_up", headers=bearer(tokens["roads"]), json={"rating": "5"}
    )
    assert own.status == 403  # the department does not rate its own work
    wrong = await client.post(
        f"/api/v1/tickets/{number}/follow_up", headers=bearer(tokens["disp"]), json={"rating": "9"}
    )
    assert wrong.status == 409
    response = await client.post(
        f"/api/v1/tickets/{number}/follow_up",
        headers=bearer(tokens["disp"]),
        json={"rating": "4", "note": "居民说亮了"},
    )
    body = await response.json()
    assert body["status"] == "closed" and body["history"][-1]["note"] == "电话回访：满意；意见：居民说亮了"


async def test_handing_a_ticket_over_to_an_assisting_department(client, tokens):
    """转交协办 is one entry of the action table: the API, its document and the console take it."""
    number = tokens["number"]
    document = await (await client.get("/api/v1/openapi.json")).json()
    action = document["paths"]["/api/v1/tickets/{number}/{action}"]["post"]
    assert "hand_over" in action["parameters"][1]["schema"]["enum"]
    assert "to" in action["requestBody"]["content"]["application/json"]["schema"]["properties"]
    await client.post(
        f"/api/v1/tickets/{number}/dispatch",
        headers=bearer(tokens["disp"]),
        json={"lead": "transport", "assisting": ["sanitation"]},
    )
    by_assistant = await client.post(
        f"/api/v1/tickets/{number}/hand_over", headers=bearer(tokens["trash"]), json={"to": "sanitation"}
    )
    assert by_assistant.status == 403  # only the lead department hands over
    elsewhere = await client.post(
        f"/api/v1/tickets/{number}/hand_over", headers=bearer(tokens["roads"]), json={"to": "housing"}
    )
    assert elsewhere.status == 409 and "协办" in (await elsewhere.json())["error"]
    handed = await client.post(
        f"/api/v1/tickets/{number}/hand_over",
        headers=bearer(tokens["roads"]),
        json={"to": "sanitation", "note": "主要是垃圾堆放问题"},
    )
    body = await handed.json()
    assert handed.status == 200 and body["lead_department"] == "sanitation"
    assert body["assisting_departments"] == ["transport"] and body["status"] == "dispatched"
    assert "转交协办：交通运输局 → 综合行政执法局（环卫）（主要是垃圾堆放问题）" in body["history"][-1]["note"]
    still = await client.get(f"/api/v1/tickets/{number}", headers=bearer(tokens["roads"]))
    assert still.status == 200  # the former lead assists and still sees it


async def test_every_answer_matches_the_openapi_document(client, tokens):
    """The document is generated from the models the API answers with: the answers validate."""
    import jsonschema

    document = await (await client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def check(body, name):
        resolver = jsonschema.RefResolver.from_schema({"components": {"schemas": schemas}})
        jsonschema.validate(body, schemas[name], resolver=resolver)

    number = tokens["number"]
    check(await (await client.get("/api/v1/tickets", headers=bearer(tokens["disp"]))).json(), "TicketPage")
    check(await (await client.get(f"/api/v1/tickets/{number}", headers=bearer(tokens["disp"]))).json(), "TicketDetail")
    dispatched = await client.post(
        f"/api/v1/tickets/{number}/dispatch", headers=bearer(tokens["disp"]), json={"lead": "transport"}
    )
    check(await dispatched.json(), "TicketDetail")
    check(await (await client.get("/api/v1/tickets/NOPE", headers=bearer(tokens["disp"]))).json(), "Error")
