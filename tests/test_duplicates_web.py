"""The duplicate suggestions and hot spots over HTTP: the JSON API and its document, the console's
panel and pages, each with the same permissions as the rest."""

import pytest

from bot import taxonomy
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.tickets import NewReport, create_ticket
from bot.web.app import create_app
from tests.support.web import web_settings

LAMP = "锦绣江南4栋门口的路灯坏了好几天了，晚上黑漆漆的"
AGAIN = "錦繡江南四棟門口路燈壞了，麻煩派人來修一下"


@pytest.fixture
def store(sqlite_url):
    with session_scope(sqlite_url) as db:
        for name, role, department in (
            ("disp", "dispatcher", None),
            ("roads", "department", "transport"),
            ("trash", "department", "sanitation"),
            ("boss", "supervisor", None),
        ):
            accounts.create_user(db, name, "long-enough-pw", role, department)
        first, _ = create_ticket(db, NewReport("a", "c1", LAMP, "roads", location="锦绣江南4栋门口"), taxonomy.load())
        again, _ = create_ticket(db, NewReport("b", "c2", AGAIN, "roads", location="錦繡江南4棟"), taxonomy.load())
        found = {name: accounts.issue_token(db, name) for name in ("disp", "roads", "trash")}
        return {**found, "first": first.number, "again": again.number}


@pytest.fixture
async def client(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(web_settings(sqlite_url)))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def log_in(client, name):
    import re

    page = await (await client.get("/staff/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    await client.post("/staff/login", data={"username": name, "password": "long-enough-pw", "csrf_token": token})


async def test_the_api_lists_a_tickets_possible_duplicates_and_merges_one(client, store):
    answer = await client.get(f"/api/v1/tickets/{store['again']}/duplicates", headers=bearer(store["disp"]))
    body = await answer.json()
    assert answer.status == 200 and [c["number"] for c in body["candidates"]] == [store["first"]]
    assert body["candidates"][0]["score"] >= body["threshold"] > 0 and body["candidates"][0]["place_score"] == 1.0
    merged = await client.post(
        f"/api/v1/tickets/{store['again']}/merge", headers=bearer(store["disp"]), json={"into": store["first"]}
    )
    assert merged.status == 200 and (await merged.json())["status"] == "duplicate"
    hidden = await client.get(f"/api/v1/tickets/{store['again']}/duplicates", headers=bearer(store["trash"]))
    assert hidden.status == 404  # another department's ticket
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/tickets/{number}/duplicates" in document["paths"]
    assert "DuplicateCandidate" in document["components"]["schemas"]


async def test_the_panel_offers_the_merge_to_those_who_may_merge_only(client, store):
    await log_in(client, "disp")
    panel = await (await client.get(f"/staff/tickets/{store['again']}/duplicates")).text()
    assert store["first"] in panel and f"把本单并入 {store['first']}" in panel
    page = await (await client.get(f"/staff/tickets/{store['again']}")).text()
    assert f'data-fragment="/staff/tickets/{store["again"]}/duplicates"' in page
    await client.post("/staff/logout")
    await log_in(client, "roads")  # department staff see the suggestion, dispatchers merge
    panel = await (await client.get(f"/staff/tickets/{store['again']}/duplicates")).text()
    assert store["first"] in panel and "把本单并入" not in panel


async def test_hot_spots_are_for_those_who_read_statistics(client, store):
    await log_in(client, "roads")
    assert (await client.get("/staff/hotspots")).status == 403
    await client.post("/staff/logout")
    await log_in(client, "boss")
    page = await (await client.get("/staff/hotspots")).text()
    assert "锦绣江南" in page and "2 个工单" in page
    section = await (await client.get("/staff/hotspots/section")).text()
    assert "锦绣江南" in section and "新出现" in section
    dashboard = await (await client.get("/staff/dashboard")).text()
    assert 'data-fragment="/staff/hotspots/section?period=' in dashboard
