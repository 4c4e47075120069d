"""The knowledge base in the staff console and the JSON API: who may change which entry (attacks
made over HTTP with a valid session and CSRF token), forms that keep what was typed, publishing,
history, the residents' questions grouped and turned into entries."""

import datetime as dt
import re

import pytest

from bot import taxonomy
from bot.staff import accounts
from bot.store import knowledge
from bot.store.db import session_scope
from bot.store.knowledge import EntryDraft
from bot.store.schema import AuditEntry, KnowledgeEntry, KnowledgeQuestion
from bot.web.app import create_app
from tests.support.web import web_settings
from tests.test_staff_web import PASSWORD, csrf_of, login


@pytest.fixture
def base(sqlite_url):
    """Staff of each role and two entries: the transport department's (published, sample) and the
    sanitation department's (a draft)."""
    tax = taxonomy.load()
    with session_scope(sqlite_url) as db:
        accounts.create_user(db, "disp", PASSWORD, "dispatcher", display_name="王丽")
        accounts.create_user(db, "roads", PASSWORD, "department", "transport")
        accounts.create_user(db, "trash", PASSWORD, "department", "sanitation")
        accounts.create_user(db, "sup", PASSWORD, "supervisor")
        road = knowledge.create(
            db,
            EntryDraft(
                question="路灯坏了找谁修？",
                answer="路灯由区交通运输局路灯所维护，可拨打12345或在这里反映。",
                phrasings=["路灯不亮归谁管"],
                category_id="roads",
                published=True,
            ),
            tax,
            "admin:admin",
            sample=True,
        )
        trash = knowledge.create(
            db,
            EntryDraft(
                question="垃圾几点可以扔？", answer="每天早上7点到9点、晚上6点到8点定时投放。", category_id="sanitation"
            ),
            tax,
            "admin:admin",
        )
        tokens = {name: accounts.issue_token(db, name) for name in ("disp", "roads", "trash", "sup")}
        return {"road": road.id, "trash": trash.id, "tokens": tokens}


@pytest.fixture
async def client(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(web_settings(sqlite_url)))


def entry(url, entry_id):
    with session_scope(url) as db:
        found = db.get(KnowledgeEntry, entry_id)
        return {"answer": found.answer, "published": found.published, "version": found.version}


def audited(url, action):
    with session_scope(url) as db:
        return [(a.actor, a.detail) for a in db.query(AuditEntry).filter(AuditEntry.action == action)]


def form(**values):
    fields = {
        "question": "夜间施工到几点？",
        "phrasings": "晚上几点以后不能施工\n晚上施工扰民怎么办",
        "answer": "一般晚上10点至次日早上6点禁止产生噪声的施工，特殊情况须经批准并公告。",
        "department": "",
        "category": "noise_pollution",
    }
    fields.update(values)
    return {k: v for k, v in fields.items() if v is not None}


async def test_the_list_searches_filters_and_marks_sample_content(client, base):
    await login(client, "sup")
    page = await (await client.get("/staff/knowledge")).text()
    assert "路灯坏了找谁修" in page and "垃圾几点可以扔" in page and "示例内容" in page
    assert 'href="/staff/knowledge"' in page  # in the console's menu
    assert "新建条目" not in page  # supervisors read only
    found = await (await client.get("/staff/knowledge?q=路灯所")).text()  # words of the answer
    assert "路灯坏了找谁修" in found and "垃圾几点可以扔" not in found
    drafts = await (await client.get("/staff/knowledge?state=draft")).text()
    assert "垃圾几点可以扔" in drafts and "路灯坏了找谁修" not in drafts
    by_department = await (await client.get("/staff/knowledge?department=sanitation")).text()
    assert "垃圾几点可以扔" in by_department and "路灯坏了找谁修" not in by_department


async def test_a_dispatcher_creates_edits_publishes_and_the_history_says_who_and_what(client, base, sqlite_url):
    await login(client, "disp")
    token = await csrf_of(client, "/staff/knowledge/new")
    response = await client.post("/staff/knowledge/new", data={**form(), "csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    entry_id = int(re.search(r"/staff/knowledge/(\d+)", response.headers["Location"]).group(1))
    assert entry(sqlite_url, entry_id) == {"answer": form()["answer"], "published": False, "version": 1}

    edited = form(answer="晚上10点到早上6点不得进行产生噪声的施工；抢修、抢险除外。", published="1")
    page = await client.post(f"/staff/knowledge/{entry_id}", data={**edited, "csrf_token": token})
    assert page.status == 200 and "已保存修改" in await page.text()
    response = await client.post(f"/staff/knowledge/{entry_id}/unpublish", data={"csrf_token": token})
    assert "已撤回" in await response.text()
    assert entry(sqlite_url, entry_id)["published"] is False

    page = await (await client.get(f"/staff/knowledge/{entry_id}")).text()
    history = page[page.index("修改记录") + len("修改记录") :]
    assert history.index("撤回") < history.index("修改") < history.index("新建")
    assert "改了答案、发布状态" in history and "王丽" in history
    assert [a for a, _ in audited(sqlite_url, "knowledge_create")] == ["disp"]
    assert [a for a, _ in audited(sqlite_url, "knowledge_edit")] == ["disp"]
    assert [a for a, _ in audited(sqlite_url, "knowledge_unpublish")] == ["disp"]


async def test_bad_input_keeps_what_was_typed_and_says_what_is_wrong(client, base, sqlite_url):
    await login(client, "disp")
    token = await csrf_of(client, "/staff/knowledge/new")
    typed = form(answer="", question="电梯多久检验一次")
    response = await client.post("/staff/knowledge/new", data={**typed, "csrf_token": token})
    page = await response.text()
    assert response.status == 422 and "请填写答案" in page
    assert 'value="电梯多久检验一次"' in page and "晚上施工扰民怎么办" in page
    too_long = form(phrasings="x" * 201)
    page = await (await client.post("/staff/knowledge/new", data={**too_long, "csrf_token": token})).text()
    assert "每种问法请控制在 200 个字以内" in page
    with session_scope(sqlite_url) as db:
        assert db.query(KnowledgeEntry).count() == 2


async def test_department_staff_change_only_their_own_departments_entries(client, base, sqlite_url):
    await login(client, "trash")
    listing = await (await client.get("/staff/knowledge")).text()
    assert "路灯坏了找谁修" in listing  # they read every entry
    other = await (await client.get(f"/staff/knowledge/{base['road']}")).text()
    assert "只能修改本部门的条目" in other and 'name="answer"' not in other
    token = await csrf_of(client, f"/staff/knowledge/{base['trash']}")
    # the attack: a valid session and CSRF token, another department's entry
    response = await client.post(
        f"/staff/knowledge/{base['road']}", data={**form(category="roads", answer="改掉"), "csrf_token": token}
    )
    assert response.status == 403
    response = await client.post(f"/staff/knowledge/{base['road']}/unpublish", data={"csrf_token": token})
    assert response.status == 403
    assert entry(sqlite_url, base["road"]) == {
        "answer": "路灯由区交通运输局路灯所维护，可拨打12345或在这里反映。",
        "published": True,
        "version": 1,
    }
    # nor may they file an entry under another department, or give theirs away
    response = await client.post(
        "/staff/knowledge/new", data={**form(category="roads", department="transport"), "csrf_token": token}
    )
    assert response.status == 403
    response = await client.post(
        f"/staff/knowledge/{base['trash']}",
        data={**form(question="垃圾几点可以扔？", department="transport"), "csrf_token": token},
    )
    assert response.status == 403
    # their own: edited and published
    own = form(question="垃圾几点可以扔？", answer="早7点至9点、晚6点至8点。", category="sanitation", published="1")
    response = await client.post(f"/staff/knowledge/{base['trash']}", data={**own, "csrf_token": token})
    assert response.status == 200
    assert entry(sqlite_url, base["trash"])["published"] is True
    page = await (await client.get("/staff/knowledge/new")).text()
    assert '<option value="sanitation" selected>' in page and 'value="transport"' not in page


async def test_supervisors_read_only_and_no_csrf_token_changes_nothing(client, base, sqlite_url):
    await login(client, "sup")
    assert (await client.get("/staff/knowledge/new")).status == 403
    token = await csrf_of(client, f"/staff/knowledge/{base['road']}")
    response = await client.post("/staff/knowledge/new", data={**form(), "csrf_token": token})
    assert response.status == 403
    response = await client.post(f"/staff/knowledge/{base['trash']}/publish", data={"csrf_token": token})
    assert response.status == 403
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "disp")
    response = await client.post(f"/staff/knowledge/{base['trash']}/publish", data={})
    assert response.status == 403
    response = await client.post("/staff/knowledge/new", data={**form(), "csrf_token": "forged"})
    assert response.status == 403
    assert entry(sqlite_url, base["trash"])["published"] is False
    with session_scope(sqlite_url) as db:
        assert db.query(KnowledgeEntry).count() == 2


def ask(url, *texts, outcome=knowledge.UNANSWERED, days_ago=0):
    with session_scope(url) as db:
        for text in texts:
            knowledge.record_question(
                db, text, outcome, now=dt.datetime.utcnow() - dt.timedelta(days=days_ago), conversation_id="c"
            )


async def test_questions_are_grouped_and_an_entry_written_from_them_covers_them(client, base, sqlite_url):
    ask(sqlite_url, "犬只登记要带什么材料", "狗狗登记需要带什么材料", "养狗登记要带哪些材料？", days_ago=1)
    ask(sqlite_url, "犬只登记需要什么材料", outcome=knowledge.NOT_HELPFUL)
    ask(sqlite_url, "居住证怎么办理", days_ago=2)
    ask(sqlite_url, "物业费怎么交", outcome=knowledge.HELPFUL)  # answered well: not listed
    await login(client, "disp")
    page = await (await client.get("/staff/knowledge/questions")).text()
    groups = re.findall(r'<tr class="kb-row question-group">(.*?)</tr>', page, re.S)
    assert len(groups) == 2
    assert "犬只登记" in groups[0] and "狗狗登记需要带什么材料" in groups[0] and "居住证" not in groups[0]
    assert re.search(r'data-label="次数">4\b', groups[0]) and "1 次“没帮助”" in groups[0]
    assert "居住证怎么办理" in groups[1] and "物业费" not in page

    link = re.search(r'href="(/staff/knowledge/new\?from=[0-9,]+)"', groups[0]).group(1)
    prefilled = await (await client.get(link)).text()
    question = re.search(r'name="question" value="([^"]+)"', prefilled).group(1)
    phrasings = re.search(r'name="phrasings"[^>]*>([^<]*)</textarea>', prefilled).group(1).splitlines()
    assert "登记" in question and len(phrasings) == 3 and question not in phrasings
    covering = re.search(r'name="covering" value="([^"]+)"', prefilled).group(1)
    token = await csrf_of(client, link)
    answer = "携带身份证、犬只免疫证明和照片到辖区派出所办理犬只登记。"
    data = {
        "question": question,
        "phrasings": "\n".join(phrasings),
        "answer": answer,
        "category": "safety",
        "covering": covering,
        "csrf_token": token,
    }
    response = await client.post("/staff/knowledge/new", data=data, allow_redirects=False)
    assert response.status == 303
    page = await (await client.get("/staff/knowledge/questions")).text()
    assert "犬只登记" not in page and "居住证怎么办理" in page
    with session_scope(sqlite_url) as db:
        assert db.query(KnowledgeQuestion).filter(KnowledgeQuestion.covered_by_id.isnot(None)).count() == 4
    assert '"covered_questions": 4' in audited(sqlite_url, "knowledge_create")[0][1]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def test_the_api_lists_creates_updates_publishes_with_the_consoles_permissions(client, base, sqlite_url):
    tokens = base["tokens"]
    listing = await (await client.get("/api/v1/knowledge?q=路灯", headers=bearer(tokens["sup"]))).json()
    assert [e["id"] for e in listing["entries"]] == [base["road"]]
    assert listing["entries"][0]["sample"] and not listing["entries"][0]["editable"]

    body = {
        "question": "低保怎么申请？",
        "answer": "向户籍所在地街道（乡镇）提出书面申请。",
        "category": "social_services",
    }
    assert (await client.post("/api/v1/knowledge", headers=bearer(tokens["sup"]), json=body)).status == 403
    assert (await client.post("/api/v1/knowledge", headers=bearer(tokens["roads"]), json=body)).status == 403
    bad = await client.post("/api/v1/knowledge", headers=bearer(tokens["disp"]), json={**body, "answer": " "})
    assert bad.status == 422 and (await bad.json())["error"] == "请填写答案"
    created = await client.post(
        "/api/v1/knowledge", headers=bearer(tokens["disp"]), json={**body, "phrasings": ["低保去哪里办"]}
    )
    assert created.status == 201
    made = await created.json()
    assert made["department"] == "social" and made["phrasings"] == ["低保去哪里办"] and not made["published"]

    url = f"/api/v1/knowledge/{made['id']}"
    changed = await client.patch(url, headers=bearer(tokens["disp"]), json={"answer": "到街道便民服务中心申请。"})
    assert (await changed.json())["question"] == "低保怎么申请？" and (await changed.json())["version"] == 2
    published = await (await client.post(url + "/publish", headers=bearer(tokens["disp"]))).json()
    assert published["published"] and [h["change"] for h in published["history"]] == [
        "published",
        "edited",
        "created",
    ]
    assert published["history"][1]["changed_fields"] == ["answer"]

    road = f"/api/v1/knowledge/{base['road']}"
    assert (await client.patch(road, headers=bearer(tokens["trash"]), json={"answer": "x"})).status == 403
    assert (await client.post(road + "/unpublish", headers=bearer(tokens["trash"]))).status == 403
    assert (await client.post(road + "/unpublish", headers=bearer(tokens["roads"]))).status == 200
    assert entry(sqlite_url, base["road"])["published"] is False
    assert (await client.get("/api/v1/knowledge/999999", headers=bearer(tokens["disp"]))).status == 404
    assert (await client.get("/api/v1/knowledge")).status == 401


async def test_the_api_lists_the_questions_to_improve_as_the_console_does(client, base, sqlite_url):
    ask(sqlite_url, "犬只登记要带什么材料", "狗狗登记需要带什么材料", days_ago=1)
    ask(sqlite_url, "犬只登记需要什么材料", outcome=knowledge.NOT_HELPFUL)
    ask(sqlite_url, "居住证怎么办理，回电13812345678", days_ago=2)
    ask(sqlite_url, "物业费怎么交", outcome=knowledge.HELPFUL)  # answered well: not listed
    tokens = base["tokens"]
    found = await (await client.get("/api/v1/knowledge/questions", headers=bearer(tokens["disp"]))).json()
    assert found["asked"] == 4 and [g["count"] for g in found["groups"]] == [3, 1]
    dogs, permit = found["groups"]
    assert dogs["unanswered"] == 2 and len(dogs["texts"]) == 3 and len(dogs["question_ids"]) == 3
    assert dogs["typical"] == dogs["texts"][0] and "犬只登记需要什么材料" in dogs["texts"]
    assert permit["texts"] == ["居住证怎么办理，回电13812345678"]
    # the ids are those the console's 据此新建条目 fills the form from
    await login(client, "disp")
    form = await (await client.get(f"/staff/knowledge/new?from={','.join(map(str, dogs['question_ids']))}")).text()
    assert "登记" in re.search(r'name="question" value="([^"]+)"', form).group(1)
    # a supervisor reads them as on the console page: phone numbers masked
    seen = await (await client.get("/api/v1/knowledge/questions", headers=bearer(tokens["sup"]))).json()
    assert seen["groups"][0] == dogs
    assert "13812345678" not in seen["groups"][1]["typical"] and "居住证怎么办理" in seen["groups"][1]["typical"]
    assert (await client.get("/api/v1/knowledge/questions")).status == 401


async def test_the_openapi_document_describes_the_knowledge_base(client):
    document = await (await client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/v1/knowledge"]) == {"get", "post"}
    assert set(paths["/api/v1/knowledge/{entry_id}"]) == {"get", "patch"}
    assert set(paths["/api/v1/knowledge/questions"]) == {"get"}
    assert {"typical", "count", "texts", "question_ids"} <= set(
        document["components"]["schemas"]["QuestionGroupLine"]["properties"]
    )
    assert "/api/v1/knowledge/{entry_id}/publish" in paths and "/api/v1/knowledge/{entry_id}/unpublish" in paths
    assert {"question", "phrasings", "answer", "department", "category", "published"} <= set(
        document["components"]["schemas"]["KnowledgeBody"]["properties"]
    )
    assert "history" in document["components"]["schemas"]["KnowledgeDetail"]["properties"]
    assert any(p["name"] == "kind" for p in paths["/api/v1/tickets"]["get"]["parameters"])
