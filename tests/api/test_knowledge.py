"""``/knowledge``: propose, query (ranking), confirm, flag and stats, with every KU validated
against the cq-schema (null keys omitted, created_by and flag details hidden from agents)."""

from datetime import datetime, timedelta

import httpx
import pytest

from colloquy.app import create_app
from colloquy.domain.models import Context, Insight, ReviewStatus, Role
from colloquy.store.protocol import NewUnit, Ranking
from tests.api.conftest import API, bearer, now
from tests.support.schemas import assert_ku

NOT_FOUND = {"detail": "Knowledge unit not found"}
EMPTY_BUCKETS = {"0.0-0.3": 0, "0.3-0.5": 0, "0.5-0.7": 0, "0.7-1.0": 0}


@pytest.fixture
def settings(settings):
    """These tests pin the cq reference's exact order: ``CQ_RANKING=cq`` (hybrid ranking's
    wire behaviour is tests/api/test_hybrid_query.py)."""
    return settings.model_copy(update={"ranking": Ranking.CQ})


def insight(summary="s", detail="d", action="a"):
    return {"summary": summary, "detail": detail, "action": action}


# ------------------------------------------------------------------ propose


async def test_propose_shape(api, api_key):
    before = now()
    unit = await api.propose(
        api_key,
        domains=["Databases", " perf "],
        summary="S",
        detail="D",
        action="A",
        languages=["Python"],
        frameworks=["fastapi"],
        pattern="Pool",
    )
    assert set(unit) == {
        "id",
        "version",
        "domains",
        "insight",
        "context",
        "evidence",
        "tier",
        "created_by",
        "flags",
    }
    assert unit["id"].startswith("ku_")
    assert unit["version"] == 1
    assert unit["domains"] == ["databases", "perf"]
    assert unit["insight"] == {"summary": "S", "detail": "D", "action": "A"}
    assert unit["context"] == {
        "languages": ["Python"],
        "frameworks": ["fastapi"],
        "pattern": "Pool",
    }
    assert unit["tier"] == "private"
    assert unit["created_by"] == "admin"
    assert unit["flags"] == []
    evidence = unit["evidence"]
    assert evidence["confidence"] == 0.5
    assert evidence["confirmations"] == 1
    assert evidence["first_observed"] == evidence["last_confirmed"]
    observed = datetime.fromisoformat(evidence["first_observed"])
    assert before - timedelta(seconds=1) <= observed <= now() + timedelta(seconds=1)


async def test_propose_timestamps_use_z_suffix(api, api_key):
    unit = await api.propose(api_key)
    assert unit["evidence"]["first_observed"].endswith("Z")


async def test_propose_ignores_client_assigned_fields(api, api_key, client):
    body = {
        "id": "ku_" + "f" * 32,
        "domains": ["web"],
        "insight": {**insight(), "extra": 1},
        "context": {"languages": [], "extra": True},
        "evidence": {"confidence": 1.0, "confirmations": 99},
        "tier": "public",
        "flags": [{"reason": "stale"}],
        "version": 7,
        "created_by": "mallory",
        "superseded_by": "ku_" + "e" * 32,
        "unknown": "x",
    }
    response = await client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
    assert response.status_code == 201, response.text
    unit = assert_ku(response.json())
    assert unit["id"] != body["id"]
    assert unit["created_by"] == "admin"
    assert unit["tier"] == "private"
    assert unit["version"] == 1
    assert unit["evidence"]["confidence"] == 0.5
    assert unit["evidence"]["confirmations"] == 1
    assert unit["flags"] == []
    assert "superseded_by" not in unit
    assert unit["insight"] == insight()
    assert unit["context"] == {"languages": [], "frameworks": [], "pattern": ""}


async def test_propose_context_defaults(api, api_key, client):
    response = await client.post(
        f"{API}/knowledge",
        json={"domains": ["web"], "insight": insight("", "", "")},
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    unit = assert_ku(response.json())
    assert unit["context"] == {"languages": [], "frameworks": [], "pattern": ""}
    assert unit["insight"] == insight("", "", "")


async def test_propose_domain_normalisation(api, api_key):
    unit = await api.propose(api_key, domains=[" Web", "web", "", "API", "api "])
    assert unit["domains"] == ["web", "api"]


async def test_propose_languages_kept_as_given(api, api_key):
    unit = await api.propose(api_key, languages=["Python", "python", "Python"])
    assert unit["context"]["languages"] == ["Python", "python", "Python"]


async def test_propose_extensions(api, api_key):
    ext = {"impl:x": 1, "colloquy:nested": {"a": [1, 2]}, "a-b_c:y.z": None}
    unit = await api.propose(api_key, extensions=ext)
    assert unit["extensions"] == ext
    twenty = {f"ns:k{i}": i for i in range(20)}
    assert (await api.propose(api_key, extensions=twenty))["extensions"] == twenty


async def test_propose_null_extensions_omitted(api, api_key, client):
    response = await client.post(
        f"{API}/knowledge",
        json={"domains": ["web"], "insight": insight(), "extensions": None},
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    assert "extensions" not in response.json()


def long(n):
    return "x" * n


@pytest.mark.parametrize(
    "change",
    [
        {"insight": insight(summary=long(501))},
        {"insight": insight(detail=long(8001))},
        {"insight": insight(action=long(2001))},
        {"domains": [f"d{i}" for i in range(17)]},
        {"domains": [long(65)]},
        {"domains": []},
        {"domains": "web"},
        {"context": {"pattern": long(201)}},
        {"context": {"languages": [long(65)]}},
        {"context": {"frameworks": [str(i) for i in range(17)]}},
        {"context": None},
        {"created_by": long(257)},
        {"created_by": 5},
        {"insight": {"summary": "s", "detail": "d"}},
        {"insight": None},
    ],
    ids=[
        "summary-501",
        "detail-8001",
        "action-2001",
        "domains-17",
        "domain-65",
        "domains-empty",
        "domains-string",
        "pattern-201",
        "language-65",
        "frameworks-17",
        "context-null",
        "created-by-257",
        "created-by-int",
        "insight-missing-action",
        "insight-null",
    ],
)
async def test_propose_schema_limits_are_422(client, api_key, change):
    body = {"domains": ["web"], "insight": insight(), **change}
    response = await client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


async def test_propose_at_schema_limits_is_accepted(api, api_key):
    unit = await api.propose(
        api_key,
        domains=[f"{i:02d}" + "d" * 62 for i in range(16)],
        summary=long(500),
        detail=long(8000),
        action=long(2000),
        languages=[long(64)] * 16,
        frameworks=[long(64)] * 16,
        pattern=long(200),
    )
    assert len(unit["domains"]) == 16


@pytest.mark.parametrize(
    "extensions, detail",
    [
        ({"Bad:x": 1}, "extension keys must match namespace:key format, got: ['Bad:x']"),
        ({"nocolon": 1}, "extension keys must match namespace:key format, got: ['nocolon']"),
        ({"ns:": 1}, "extension keys must match namespace:key format, got: ['ns:']"),
        ({"ns:a b": 1}, "extension keys must match namespace:key format, got: ['ns:a b']"),
        ({f"ns:k{i}": i for i in range(21)}, "extensions must have at most 20 keys, got 21"),
    ],
    ids=["upper", "no-colon", "empty-key", "space", "21-keys"],
)
async def test_propose_bad_extensions(client, api_key, extensions, detail):
    body = {"domains": ["web"], "insight": insight(), "extensions": extensions}
    response = await client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)
    assert response.json()["detail"] == detail


@pytest.mark.parametrize("domains", [[""], ["  ", "\t"]])
async def test_propose_blank_domains(client, api_key, domains):
    body = {"domains": domains, "insight": insight()}
    response = await client.post(f"{API}/knowledge", json=body, headers=bearer(api_key))
    assert response.status_code == 422
    assert response.json() == {"detail": "At least one non-empty domain is required"}


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
async def test_propose_needs_json_content_type(client, api_key, content_type):
    headers = bearer(api_key)
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post(
        f"{API}/knowledge",
        content=b'{"domains":["web"],"insight":{"summary":"s","detail":"d","action":"a"}}',
        headers=headers,
    )
    assert response.status_code == 422


async def test_propose_accepts_json_suffix_content_type(client, api_key):
    response = await client.post(
        f"{API}/knowledge",
        content=b'{"domains":["web"],"insight":{"summary":"s","detail":"d","action":"a"}}',
        headers={**bearer(api_key), "Content-Type": "application/vnd.cq+json"},
    )
    assert response.status_code == 201


async def test_pending_unit_is_invisible_to_agents(api, api_key):
    unit = await api.propose(api_key, domains=["hidden"])
    assert await api.query({"domains": "hidden"}) == []
    for path, body in (("confirmations", None), ("flags", {"reason": "stale"})):
        response = await api.client.post(
            f"{API}/knowledge/{unit['id']}/{path}", json=body, headers=bearer(api_key)
        )
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


async def test_approved_unit_becomes_visible(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token, domains=["shown"])
    (found,) = await api.query({"domains": "shown"})
    assert found["id"] == unit["id"]
    assert "created_by" not in found
    assert found == {k: v for k, v in unit.items() if k != "created_by"}


async def test_rejected_unit_stays_hidden(api, api_key, admin_token):
    unit = await api.propose(api_key, domains=["gone"])
    await api.reject(admin_token, unit["id"])
    assert await api.query({"domains": "gone"}) == []
    response = await api.client.post(
        f"{API}/knowledge/{unit['id']}/confirmations", headers=bearer(api_key)
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# ------------------------------------------------------------------ query


async def test_query_worked_example_order(api, api_key, admin_token):
    """wire-spec 4.3: domains=web&languages=python -> A (0.70), B (0.55), C (0.275), D (0.1375),
    all at confidence 0.5."""
    d = await api.approved(api_key, admin_token, domains=["web", "api", "x", "y"], summary="D")
    c = await api.approved(api_key, admin_token, domains=["web", "api"], summary="C")
    b = await api.approved(api_key, admin_token, domains=["web"], languages=["Python"], summary="B")
    a = await api.approved(api_key, admin_token, domains=["web"], languages=["python"], summary="A")
    await api.approved(api_key, admin_token, domains=["other"], summary="unrelated")
    found = await api.query({"domains": "web", "languages": "python"})
    assert [u["id"] for u in found] == [a["id"], b["id"], c["id"], d["id"]]
    for unit in found:
        assert "created_by" not in unit
    limited = await api.query({"domains": "web", "languages": "python", "limit": 2})
    assert [u["id"] for u in limited] == [a["id"], b["id"]]


async def test_query_default_limit_is_five(api, api_key, admin_token):
    for _ in range(6):
        await api.approved(api_key, admin_token, domains=["many"])
    assert len(await api.query({"domains": "many"})) == 5


async def test_query_ranking_with_confidence_framework_and_pattern(api, api_key, admin_token):
    """domains=web,api & frameworks=django & pattern=retry, scores computed by hand:
    G {web,api}+django+"Retry" @0.5: (0.55+0.15+0.15)*0.5 = 0.425
    H {web} @1.0 (5 confirms):        0.55*(1/2)*1.0       = 0.275
    I {api,db}+django @0.5:           (0.55/3+0.15)*0.5    = 0.12583
    J {web,api} @0.2 (2 flags):       0.55*0.2             = 0.11"""
    g = await api.approved(
        api_key, admin_token, domains=["web", "api"], frameworks=["django"], pattern="Retry"
    )
    h = await api.approved(api_key, admin_token, domains=["web"])
    i = await api.approved(api_key, admin_token, domains=["api", "db"], frameworks=["django"])
    j = await api.approved(api_key, admin_token, domains=["web", "api"])
    for _ in range(5):
        await api.confirm(api_key, h["id"])
    for _ in range(2):
        await api.flag(api_key, j["id"])
    found = await api.query(
        [("domains", "web"), ("domains", "API"), ("frameworks", "django"), ("pattern", " retry ")]
    )
    assert [u["id"] for u in found] == [g["id"], h["id"], i["id"], j["id"]]
    assert [u["evidence"]["confidence"] for u in found] == [0.5, 1.0, 0.5, 0.2]


async def test_query_ties_break_on_larger_id_first(api, api_key, admin_token):
    ids = [(await api.approved(api_key, admin_token, domains=["tie"]))["id"] for _ in range(4)]
    found = await api.query({"domains": "tie"})
    assert [u["id"] for u in found] == sorted(ids, reverse=True)


async def test_query_pattern_and_framework_matching(api, api_key, admin_token):
    plain = await api.approved(api_key, admin_token, domains=["p"])
    patterned = await api.approved(api_key, admin_token, domains=["p"], pattern="Circuit Breaker")
    framed = await api.approved(api_key, admin_token, domains=["p"], frameworks=["Django"])
    by_pattern = await api.query({"domains": "p", "pattern": "circuit breaker"})
    assert by_pattern[0]["id"] == patterned["id"]
    by_framework = await api.query({"domains": "p", "frameworks": "Django"})
    assert by_framework[0]["id"] == framed["id"]
    # case-sensitive framework match: no boost, so the three tie and order by id
    no_boost = await api.query({"domains": "p", "frameworks": "django"})
    assert [u["id"] for u in no_boost] == sorted(
        [plain["id"], patterned["id"], framed["id"]], reverse=True
    )


async def test_query_domains_are_normalised_and_not_comma_split(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token, domains=["web"])
    assert [u["id"] for u in await api.query({"domains": " WEB "})] == [unit["id"]]
    assert await api.query({"domains": "web,api"}) == []


@pytest.mark.parametrize("domains", ["", "   "])
async def test_query_blank_domains_is_empty(api, api_key, admin_token, domains):
    await api.approved(api_key, admin_token, domains=["web"])
    assert await api.query({"domains": domains}) == []


async def test_query_limit_is_capped_at_50(api, api_key, admin_token, store):
    start = now()
    for n in range(53):
        await store.insert_unit(
            NewUnit(
                id=f"ku_{n:032x}",
                domains=["bulk"],
                insight=Insight(summary=str(n), detail="d", action="a"),
                context=Context(),
                created_by="admin",
                created_at=start + timedelta(milliseconds=n),
            )
        )
        await store.decide(f"ku_{n:032x}", ReviewStatus.APPROVED, "admin", now())
    found = await api.query({"domains": "bulk", "limit": 1000})
    assert len(found) == 50
    assert [u["id"] for u in found] == [f"ku_{n:032x}" for n in range(52, 2, -1)]
    assert len(await api.query({"domains": "bulk", "limit": 51})) == 50


@pytest.mark.parametrize(
    "params",
    [
        {"domains": "web", "limit": 0},
        {"domains": "web", "limit": -1},
        {"domains": "web", "limit": "x"},
        {"limit": 5},
        [("domains", f"d{i}") for i in range(17)],
        {"domains": "d" * 65},
        {"domains": "web", "languages": "l" * 65},
        {"domains": "web", "pattern": "p" * 201},
    ],
    ids=[
        "limit-0",
        "limit-neg",
        "limit-str",
        "no-domains",
        "17-domains",
        "domain-65",
        "language-65",
        "pattern-201",
    ],
)
async def test_query_bad_params_are_422(api, params):
    headers = await api.reader_headers()
    response = await api.client.get(f"{API}/knowledge", params=params, headers=headers)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


async def test_query_limit_zero_error_shape(api):
    headers = await api.reader_headers()
    params = {"domains": "web", "limit": 0}
    response = await api.client.get(f"{API}/knowledge", params=params, headers=headers)
    (error,) = response.json()["detail"]
    assert error["type"] == "greater_than"
    assert error["loc"] == ["query", "limit"]


async def test_query_sixteen_domains_ok(api):
    assert await api.query([("domains", f"d{i}") for i in range(16)]) == []


READS = [("knowledge", {"domains": "web"}), ("knowledge/stats", {})]


async def test_reads_need_a_credential(api, admin_token):
    """Reads are private by default: without a valid key or session, the key routes' 401,
    before the query is even validated (a missing ``domains`` is not reported)."""
    key = await api.key(admin_token)
    revoked = await api.create_key(admin_token, name="old")
    revoke = f"{API}/users/me/api-keys/{revoked['id']}/revoke"
    assert (await api.client.post(revoke, headers=bearer(admin_token))).status_code == 200
    refused = [None, "Bearer junk", f"bearer {key}", f"Bearer {key} ", f"Bearer {revoked['token']}"]
    for authorization in refused:
        headers = {} if authorization is None else {"Authorization": authorization}
        for path, params in [*READS, ("knowledge", {})]:
            response = await api.client.get(f"{API}/{path}", params=params, headers=headers)
            assert response.status_code == 401, (path, authorization)
            assert response.json() == {"detail": "Invalid API key"}
            assert "www-authenticate" not in response.headers


async def test_reads_with_a_key_or_a_session(api, api_key, admin_token, member_token):
    """Agents read with their API key; people signed in (any role) with their session."""
    unit = await api.approved(api_key, admin_token, domains=["web"])
    for credential in (api_key, member_token):
        query = await api.client.get(
            f"{API}/knowledge", params={"domains": "web"}, headers=bearer(credential)
        )
        assert query.status_code == 200, query.text
        assert [u["id"] for u in query.json()["data"]] == [unit["id"]]
        stats = await api.client.get(f"{API}/knowledge/stats", headers=bearer(credential))
        assert stats.status_code == 200, stats.text
        assert stats.json()["total_count"] == 1


async def test_public_read_opens_reads(api, api_key, admin_token):
    """``CQ_PUBLIC_READ=true``: the reference's open reads; any Authorization is ignored."""
    unit = await api.approved(api_key, admin_token, domains=["web"])
    app = create_app(api.settings.model_copy(update={"public_read": True}), api.store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for headers in ({}, {"Authorization": "Bearer junk"}):
            for path, params in READS:
                response = await http.get(f"{API}/{path}", params=params, headers=headers)
                assert response.status_code == 200, response.text
            query = await http.get(f"{API}/knowledge", params={"domains": "web"}, headers=headers)
            assert [u["id"] for u in query.json()["data"]] == [unit["id"]]
        propose = await http.post(f"{API}/knowledge", json={}, headers={})
        assert propose.status_code == 401  # writes still need a key


# ------------------------------------------------------------------ confirm / flag


async def test_confirm(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token)
    before = now()
    confirmed = await api.confirm(api_key, unit["id"])
    assert "created_by" not in confirmed
    assert confirmed["evidence"]["confidence"] == 0.6
    assert confirmed["evidence"]["confirmations"] == 2
    assert confirmed["evidence"]["first_observed"] == unit["evidence"]["first_observed"]
    last = datetime.fromisoformat(confirmed["evidence"]["last_confirmed"])
    assert before - timedelta(seconds=1) <= last <= now() + timedelta(seconds=1)
    values = [confirmed["evidence"]["confidence"]]
    for _ in range(6):
        values.append((await api.confirm(api_key, unit["id"]))["evidence"]["confidence"])
    assert values == [0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0]


async def test_confirm_ignores_body(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token)
    response = await api.client.post(
        f"{API}/knowledge/{unit['id']}/confirmations",
        json={"unit_id": "ku_" + "0" * 32},
        headers=bearer(api_key),
    )
    assert response.status_code == 201
    assert response.json()["evidence"]["confirmations"] == 2


@pytest.mark.parametrize("unit_id", ["ku_nonexistent", "ku_" + "0" * 32, "x"])
async def test_confirm_and_flag_unknown_is_404(client, api_key, unit_id):
    response = await client.post(
        f"{API}/knowledge/{unit_id}/confirmations", headers=bearer(api_key)
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    response = await client.post(
        f"{API}/knowledge/{unit_id}/flags", json={"reason": "stale"}, headers=bearer(api_key)
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_flag(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token)
    before = now()
    flagged = await api.flag(api_key, unit["id"], "incorrect", detail="wrong since v2")
    assert "created_by" not in flagged
    assert flagged["evidence"]["confidence"] == 0.35
    assert flagged["evidence"]["confirmations"] == 1
    assert flagged["evidence"]["last_confirmed"] == unit["evidence"]["last_confirmed"]
    (flag,) = flagged["flags"]
    assert set(flag) == {"reason", "timestamp"}
    assert flag["reason"] == "incorrect"
    stamp = datetime.fromisoformat(flag["timestamp"])
    assert before - timedelta(seconds=1) <= stamp <= now() + timedelta(seconds=1)
    values = [flagged["evidence"]["confidence"]]
    for reason in ("stale", "stale", "incorrect"):
        values.append((await api.flag(api_key, unit["id"], reason))["evidence"]["confidence"])
    assert values == [0.35, 0.2, 0.05, 0.0]
    # a unit at 0.0 is still returned by queries
    (found,) = await api.query({"domains": "web"})
    assert found["evidence"]["confidence"] == 0.0
    assert [f["reason"] for f in found["flags"]] == ["incorrect", "stale", "stale", "incorrect"]
    assert all("detail" not in f for f in found["flags"])


async def test_flag_detail_visible_to_reviewers_only(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token)
    await api.flag(api_key, unit["id"], "stale", detail="outdated")
    await api.flag(api_key, unit["id"], "stale")
    item = await api.review_item(admin_token, unit["id"])
    flags = item["knowledge_unit"]["flags"]
    assert flags[0]["detail"] == "outdated"
    assert "detail" not in flags[1]
    assert "duplicate_of" not in flags[1]


async def test_flag_duplicate(api, api_key, admin_token):
    original = await api.approved(api_key, admin_token)
    copy = await api.approved(api_key, admin_token)
    flagged = await api.flag(api_key, copy["id"], "duplicate", duplicate_of=original["id"])
    (flag,) = flagged["flags"]
    assert flag["reason"] == "duplicate"
    assert flag["duplicate_of"] == original["id"]
    item = await api.review_item(admin_token, copy["id"])
    assert item["knowledge_unit"]["flags"][0]["duplicate_of"] == original["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "duplicate"},
        {"reason": "duplicate", "duplicate_of": ""},
        {"reason": "duplicate", "duplicate_of": "ku_123"},
        {"reason": "stale", "duplicate_of": "KU_" + "0" * 32},
        {"reason": "stale", "detail": "x" * 1001},
        {"reason": "wrong"},
        {"reason": "Stale"},
        {},
        None,
    ],
    ids=[
        "dup-missing",
        "dup-empty",
        "dup-bad",
        "dup-upper",
        "detail-1001",
        "reason-unknown",
        "reason-case",
        "no-reason",
        "no-body",
    ],
)
async def test_flag_bad_body_is_422(api, api_key, admin_token, body):
    unit = await api.approved(api_key, admin_token)
    response = await api.client.post(
        f"{API}/knowledge/{unit['id']}/flags", json=body, headers=bearer(api_key)
    )
    assert response.status_code == 422, response.text
    (item,) = await api.query({"domains": "web"})
    assert item["flags"] == []
    assert item["evidence"]["confidence"] == 0.5


async def test_flag_detail_at_limit_is_accepted(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token)
    await api.flag(api_key, unit["id"], "stale", detail="x" * 1000)


async def test_confidence_is_exact(api, api_key, admin_token):
    """0.5 + 4 confirms - 2 flags is exactly 0.6, not 0.5999999999999999."""
    unit = await api.approved(api_key, admin_token)
    for _ in range(4):
        await api.confirm(api_key, unit["id"])
    await api.flag(api_key, unit["id"])
    final = await api.flag(api_key, unit["id"])
    assert final["evidence"]["confidence"] == 0.6
    assert final["evidence"]["confirmations"] == 5
    stats = await api.knowledge_stats()
    assert stats["confidence_distribution"] == {**EMPTY_BUCKETS, "0.5-0.7": 1}
    review = await api.review_stats(admin_token)
    assert review["confidence_distribution"] == {
        "0.0-0.3": 0,
        "0.3-0.6": 0,
        "0.6-0.8": 1,
        "0.8-1.0": 0,
    }
    response = await api.review_units(admin_token, confidence_min=0.6, confidence_max=0.8)
    assert [i["knowledge_unit"]["id"] for i in response.json()] == [unit["id"]]


# ------------------------------------------------------------------ stats


async def test_stats_empty(api):
    assert await api.knowledge_stats() == {
        "total_count": 0,
        "tier_counts": {},
        "domain_counts": {},
        "confidence_distribution": EMPTY_BUCKETS,
    }


async def test_stats_deltas(api, api_key, admin_token):
    first = await api.propose(api_key, domains=["db", "perf"])
    stats = await api.knowledge_stats()
    assert stats == {
        "total_count": 1,
        "tier_counts": {},
        "domain_counts": {},
        "confidence_distribution": EMPTY_BUCKETS,
    }

    await api.approve(admin_token, first["id"])
    stats = await api.knowledge_stats()
    assert stats == {
        "total_count": 1,
        "tier_counts": {"private": 1},
        "domain_counts": {"db": 1, "perf": 1},
        "confidence_distribution": {**EMPTY_BUCKETS, "0.5-0.7": 1},
    }

    second = await api.propose(api_key, domains=["db"])
    await api.reject(admin_token, second["id"])
    stats = await api.knowledge_stats()
    assert stats["total_count"] == 2
    assert stats["tier_counts"] == {"private": 1}
    assert stats["domain_counts"] == {"db": 1, "perf": 1}

    third = await api.approved(api_key, admin_token, domains=["db"])
    stats = await api.knowledge_stats()
    assert stats["total_count"] == 3
    assert stats["tier_counts"] == {"private": 2}
    assert stats["domain_counts"] == {"db": 2, "perf": 1}
    assert list(stats["domain_counts"]) == ["db", "perf"]
    assert stats["confidence_distribution"] == {**EMPTY_BUCKETS, "0.5-0.7": 2}

    await api.confirm(api_key, third["id"])  # 0.6: same bucket
    stats = await api.knowledge_stats()
    assert stats["confidence_distribution"] == {**EMPTY_BUCKETS, "0.5-0.7": 2}
    await api.confirm(api_key, third["id"])  # 0.7: top bucket
    stats = await api.knowledge_stats()
    assert stats["confidence_distribution"] == {**EMPTY_BUCKETS, "0.5-0.7": 1, "0.7-1.0": 1}

    await api.flag(api_key, first["id"])  # 0.35
    stats = await api.knowledge_stats()
    assert stats["confidence_distribution"] == {
        **EMPTY_BUCKETS,
        "0.3-0.5": 1,
        "0.7-1.0": 1,
    }
    await api.flag(api_key, first["id"])  # 0.2
    stats = await api.knowledge_stats()
    assert stats["confidence_distribution"] == {
        **EMPTY_BUCKETS,
        "0.0-0.3": 1,
        "0.7-1.0": 1,
    }
    assert stats["total_count"] == 3


async def test_stats_counts_are_integers(api, api_key, admin_token):
    await api.approved(api_key, admin_token)
    stats = await api.knowledge_stats()
    for section in ("tier_counts", "domain_counts", "confidence_distribution"):
        assert all(type(v) is int for v in stats[section].values())
    assert type(stats["total_count"]) is int


async def test_stats_counts_units_of_all_proposers(api, api_key, admin_token):
    member = await api.token("mo", Role.MEMBER)
    other_key = await api.key(member)
    await api.approved(other_key, admin_token, domains=["shared"])
    await api.approved(api_key, admin_token, domains=["shared"])
    assert (await api.knowledge_stats())["domain_counts"] == {"shared": 2}


# ------------------------------------------------------------------ one JSON writer


async def test_a_unit_is_the_same_bytes_in_every_answer(api, api_key, reviewer_token, client):
    """Query, confirm, flag and propose write a unit with one serialiser: a float that
    ``json.dumps`` would write as ``1e-05`` is ``0.00001`` in each, and the unit a confirm or a
    flag answers with is, byte for byte, the one the next query answers with."""
    tiny = b'"ns:tiny":0.00001'
    proposed = await client.post(
        f"{API}/knowledge",
        json={"domains": ["floats"], "insight": insight(), "extensions": {"ns:tiny": 0.00001}},
        headers=bearer(api_key),
    )
    assert proposed.status_code == 201, proposed.text
    assert tiny in proposed.content
    unit_id = proposed.json()["id"]
    await api.approve(reviewer_token, unit_id)

    async def queried() -> bytes:
        response = await client.get(
            f"{API}/knowledge", params={"domains": "floats"}, headers=await api.reader_headers()
        )
        assert response.status_code == 200, response.text
        prefix, suffix = b'{"data":[', b"]}"
        assert response.content.startswith(prefix) and response.content.endswith(suffix)
        return response.content[len(prefix) : -len(suffix)]

    assert tiny in await queried()
    for path, body in (("confirmations", None), ("flags", {"reason": "stale"})):
        answer = await client.post(
            f"{API}/knowledge/{unit_id}/{path}", json=body, headers=bearer(api_key)
        )
        assert answer.status_code == 201, answer.text
        assert_ku(answer.json())
        assert tiny in answer.content
        assert answer.content == await queried()
