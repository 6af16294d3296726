"""``/review``: the queue, decisions, single units, browsing with filters and cursors, stats,
and the role checks (reviewer and admin may review; member may not)."""

from datetime import datetime, timedelta

import pytest

from colloquy.domain.models import Role
from tests.api.conftest import API, API_KEY_ON_SESSION_ROUTE, bearer, check_review_item, now

NOT_FOUND = {"detail": "Knowledge unit not found"}
FORBIDDEN = {"detail": "Your role does not allow this"}
UNKNOWN = "ku_" + "0" * 32


async def queue(api, token, **params):
    response = await api.client.get(f"{API}/review/queue", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "offset", "limit"}
    for item in body["items"]:
        check_review_item(item)
        assert item["status"] == "pending"
    return body


def ids(items):
    return [i["knowledge_unit"]["id"] for i in items]


# ------------------------------------------------------------------ roles and auth

REVIEW_CALLS = [
    ("GET", "/review/queue"),
    ("GET", "/review/stats"),
    ("GET", "/review/units"),
    ("GET", f"/review/{UNKNOWN}"),
    ("POST", f"/review/{UNKNOWN}/approve"),
    ("POST", f"/review/{UNKNOWN}/reject"),
]


async def test_member_may_not_review(client, member_token):
    for method, path in REVIEW_CALLS:
        response = await client.request(method, f"{API}{path}", headers=bearer(member_token))
        assert response.status_code == 403, path
        assert response.json() == FORBIDDEN


async def test_reviewer_and_admin_may_review(client, reviewer_token, admin_token):
    for token in (reviewer_token, admin_token):
        for method, path in REVIEW_CALLS:
            response = await client.request(method, f"{API}{path}", headers=bearer(token))
            expected = 404 if path.startswith(f"/review/{UNKNOWN}") else 200
            assert response.status_code == expected, (path, response.text)


async def test_review_needs_session(client, api_key):
    for method, path in REVIEW_CALLS:
        response = await client.request(method, f"{API}{path}")
        assert response.status_code == 401
        assert response.json() == {"detail": "Missing or invalid authorization header"}
        assert "www-authenticate" not in response.headers
        response = await client.request(method, f"{API}{path}", headers=bearer(api_key))
        assert response.status_code == 401
        assert response.json() == API_KEY_ON_SESSION_ROUTE


# ------------------------------------------------------------------ queue


async def test_queue_oldest_first_pending_only(api, api_key, admin_token):
    units = [await api.propose(api_key, summary=f"u{i}") for i in range(4)]
    await api.approve(admin_token, units[1]["id"])
    await api.reject(admin_token, units[2]["id"])
    body = await queue(api, admin_token)
    assert body["total"] == 2
    assert body["offset"] == 0
    assert body["limit"] == 20
    assert ids(body["items"]) == [units[0]["id"], units[3]["id"]]
    first = body["items"][0]
    assert first["knowledge_unit"] == units[0]
    assert first["knowledge_unit"]["created_by"] == "admin"


async def test_queue_paging(api, api_key, admin_token):
    units = [await api.propose(api_key, summary=f"u{i}") for i in range(5)]
    body = await queue(api, admin_token, limit=2, offset=1)
    assert (body["total"], body["offset"], body["limit"]) == (5, 1, 2)
    assert ids(body["items"]) == [units[1]["id"], units[2]["id"]]
    body = await queue(api, admin_token, limit=2, offset=4)
    assert ids(body["items"]) == [units[4]["id"]]
    body = await queue(api, admin_token, offset=10)
    assert body["items"] == []
    assert body["total"] == 5


async def test_queue_limit_zero_returns_only_total(api, api_key, admin_token):
    for _ in range(3):
        await api.propose(api_key)
    body = await queue(api, admin_token, limit=0, offset=0)
    assert body == {"items": [], "total": 3, "offset": 0, "limit": 0}


async def test_queue_limit_100_ok(api, admin_token):
    assert (await queue(api, admin_token, limit=100))["limit"] == 100


@pytest.mark.parametrize(
    "params",
    [{"limit": -1}, {"limit": 101}, {"offset": -1}, {"limit": "x"}, {"offset": "1.5"}],
)
async def test_queue_bad_params_are_422(client, admin_token, params):
    response = await client.get(f"{API}/review/queue", params=params, headers=bearer(admin_token))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


# ------------------------------------------------------------------ decisions


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_decision_shape(api, api_key, reviewer_token, decision):
    unit = await api.propose(api_key)
    before = now()
    body = await api.decide(reviewer_token, unit["id"], decision)
    assert set(body) == {"unit_id", "status", "reviewed_by", "reviewed_at"}
    assert body["unit_id"] == unit["id"]
    assert body["status"] == {"approve": "approved", "reject": "rejected"}[decision]
    assert body["reviewed_by"] == "rita"
    assert body["reviewed_at"].endswith("+00:00")
    at = datetime.fromisoformat(body["reviewed_at"])
    assert before - timedelta(seconds=1) <= at <= now() + timedelta(seconds=1)
    item = await api.review_item(reviewer_token, unit["id"])
    assert item["status"] == body["status"]
    assert item["reviewed_by"] == "rita"
    assert item["reviewed_at"] == body["reviewed_at"]
    assert item["knowledge_unit"] == unit  # the KU itself is unchanged (tier stays private)


@pytest.mark.parametrize(
    "first, second, detail",
    [
        ("approve", "approve", "Knowledge unit already approved"),
        ("approve", "reject", "Knowledge unit already approved"),
        ("reject", "approve", "Knowledge unit already rejected"),
        ("reject", "reject", "Knowledge unit already rejected"),
    ],
)
async def test_second_decision_is_409(api, api_key, admin_token, first, second, detail):
    unit = await api.propose(api_key)
    await api.decide(admin_token, unit["id"], first)
    response = await api.client.post(
        f"{API}/review/{unit['id']}/{second}", headers=bearer(admin_token)
    )
    assert response.status_code == 409
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("decision", ["approve", "reject"])
@pytest.mark.parametrize("unit_id", [UNKNOWN, "ku_nonexistent", "nope"])
async def test_decision_unknown_unit_is_404(client, admin_token, decision, unit_id):
    response = await client.post(f"{API}/review/{unit_id}/{decision}", headers=bearer(admin_token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_reject_with_and_without_reason(api, api_key, admin_token):
    with_reason = await api.propose(api_key)
    response = await api.client.post(
        f"{API}/review/{with_reason['id']}/reject",
        json={"reason": "duplicate of an older unit"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    item = await api.review_item(admin_token, with_reason["id"])
    assert item["status"] == "rejected"

    for body in (None, {}, {"reason": None}, {"reason": "   "}):
        unit = await api.propose(api_key)
        response = await api.client.post(
            f"{API}/review/{unit['id']}/reject", json=body, headers=bearer(admin_token)
        )
        assert response.status_code == 200, (body, response.text)
        assert response.json()["status"] == "rejected"


async def test_reject_reason_too_long_is_422(api, api_key, admin_token):
    unit = await api.propose(api_key)
    response = await api.client.post(
        f"{API}/review/{unit['id']}/reject",
        json={"reason": "x" * 2001},
        headers=bearer(admin_token),
    )
    assert response.status_code == 422
    assert (await api.review_item(admin_token, unit["id"]))["status"] == "pending"


async def test_self_review_allowed(api, admin_token):
    key = await api.key(admin_token)
    unit = await api.propose(key)
    assert (await api.approve(admin_token, unit["id"]))["reviewed_by"] == "admin"


# ------------------------------------------------------------------ single unit


async def test_get_unit_any_status(api, api_key, admin_token):
    unit = await api.propose(api_key, extensions={"impl:x": 1})
    item = await api.review_item(admin_token, unit["id"])
    assert item == {
        "knowledge_unit": unit,
        "status": "pending",
        "reviewed_by": None,
        "reviewed_at": None,
    }
    await api.reject(admin_token, unit["id"])
    item = await api.review_item(admin_token, unit["id"])
    assert item["status"] == "rejected"
    assert item["reviewed_by"] == "admin"


@pytest.mark.parametrize("unit_id", [UNKNOWN, "ku_nonexistent"])
async def test_get_unknown_unit_is_404(client, admin_token, unit_id):
    response = await client.get(f"{API}/review/{unit_id}", headers=bearer(admin_token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# ------------------------------------------------------------------ /review/units


async def test_units_newest_first_all_statuses(api, api_key, admin_token):
    units = [await api.propose(api_key, summary=f"u{i}") for i in range(3)]
    await api.approve(admin_token, units[0]["id"])
    await api.reject(admin_token, units[1]["id"])
    response = await api.review_units(admin_token)
    assert response.status_code == 200
    assert "x-next-cursor" not in response.headers
    body = response.json()
    assert ids(body) == [u["id"] for u in reversed(units)]
    assert [i["status"] for i in body] == ["pending", "rejected", "approved"]


async def filter_fixture(api, api_key, admin_token):
    """a {web,api} approved @0.35, b {db} approved @0.8, c {web} pending by mo,
    d {web} rejected; created in that order."""
    member = await api.token("mo", Role.MEMBER)
    other_key = await api.key(member)
    a = await api.approved(api_key, admin_token, domains=["web", "api"])
    b = await api.approved(api_key, admin_token, domains=["db"])
    c = await api.propose(other_key, domains=["web"])
    d = await api.propose(api_key, domains=["web"])
    await api.reject(admin_token, d["id"])
    for _ in range(3):
        await api.confirm(api_key, b["id"])
    await api.flag(api_key, a["id"])

    async def found(**params):
        response = await api.review_units(admin_token, **params)
        assert response.status_code == 200, response.text
        return ids(response.json())

    return found, a["id"], b["id"], c["id"], d["id"]


async def test_units_filters(api, api_key, admin_token):
    found, a, b, c, d = await filter_fixture(api, api_key, admin_token)
    assert await found(domain=" WEB ") == [d, c, a]
    assert await found(domain="  ") == [d, c, b, a]
    assert await found(domain="none") == []
    assert await found(created_by="mo") == [c]
    assert await found(created_by="nobody") == []
    assert await found(confidence_min=0.5) == [d, c, b]
    assert await found(confidence_min=0.3, confidence_max=0.5) == [a]
    assert await found(confidence_max=0.8) == [d, c, a]
    assert await found(confidence_min=0.8, confidence_max=1.0) == [b]
    assert await found(confidence_min=0.8, confidence_max=5) == [b]
    assert await found(limit=0) == []
    assert await found(limit=0, confidence_min=0.0) == []
    assert await found(status="") == [d, c, b, a]
    assert await found(status="  ") == [d, c, b, a]


async def test_units_status_filter(api, api_key, admin_token):
    found, a, b, c, d = await filter_fixture(api, api_key, admin_token)
    assert await found(status="approved") == [b, a]
    assert await found(status="pending") == [c]
    assert await found(status="rejected") == [d]
    assert await found(status=" rejected ") == [d]
    assert await found(domain="web", status="approved") == [a]
    assert await found(confidence_min=0.8, status="approved") == [b]


@pytest.mark.parametrize("status", ["bogus", "Approved"])
async def test_units_unknown_status_is_empty(api, api_key, admin_token, status):
    await api.propose(api_key)
    response = await api.review_units(admin_token, status=status)
    assert response.status_code == 200
    assert response.json() == []


async def test_units_max_one_is_inclusive(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token)
    for _ in range(5):
        await api.confirm(api_key, unit["id"])
    response = await api.review_units(admin_token, confidence_min=0.8, confidence_max=1.0)
    assert ids(response.json()) == [unit["id"]]


async def test_units_cursor_paging(api, api_key, admin_token):
    units = [await api.propose(api_key, summary=f"u{i}") for i in range(5)]
    seen = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await api.review_units(admin_token, **params)
        assert response.status_code == 200, response.text
        seen += ids(response.json())
        pages += 1
        cursor = response.headers.get("x-next-cursor")
        if not cursor:
            break
        assert len(response.json()) == 2
    assert pages == 3
    assert seen == [u["id"] for u in reversed(units)]


async def test_units_cursor_with_filters(api, api_key, admin_token):
    units = [await api.propose(api_key, domains=["a" if i % 2 else "b"]) for i in range(6)]
    response = await api.review_units(admin_token, domain="a", limit=2)
    first = ids(response.json())
    cursor = response.headers["x-next-cursor"]
    response = await api.review_units(admin_token, domain="a", limit=2, cursor=cursor)
    assert "x-next-cursor" not in response.headers
    expected = [u["id"] for u in reversed(units) if u["domains"] == ["a"]]
    assert first + ids(response.json()) == expected


async def test_units_exact_page_has_no_cursor(api, api_key, admin_token):
    for _ in range(2):
        await api.propose(api_key)
    response = await api.review_units(admin_token, limit=2)
    assert len(response.json()) == 2
    assert "x-next-cursor" not in response.headers


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwgInkiXQ", "!!!"])
async def test_units_bad_cursor_is_422(api, api_key, admin_token, cursor):
    await api.propose(api_key)
    response = await api.review_units(admin_token, cursor=cursor)
    assert response.status_code == 422
    assert response.json() == {"detail": "cursor is not one this server issued"}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": -1},
        {"limit": "x"},
        {"confidence_min": "high"},
        {"confidence_min": -0.1},
        {"confidence_min": 1.1},
        {"confidence_max": -0.5},
        {"domain": "d" * 65},
    ],
)
async def test_units_bad_params_are_422(client, admin_token, params):
    response = await client.get(f"{API}/review/units", params=params, headers=bearer(admin_token))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_units_limit_default_100(api, admin_token, api_key):
    await api.propose(api_key)
    response = await api.review_units(admin_token, limit=100)
    assert response.status_code == 200


# ------------------------------------------------------------------ stats


def review_buckets(counts=None):
    return {"0.0-0.3": 0, "0.3-0.6": 0, "0.6-0.8": 0, "0.8-1.0": 0} | (counts or {})


async def test_review_stats_empty(api, admin_token):
    assert await api.review_stats(admin_token) == {
        "counts": {"pending": 0, "approved": 0, "rejected": 0},
        "domains": {},
        "confidence_distribution": review_buckets(),
        "recent_activity": [],
        "trends": {"daily": []},
    }


async def test_review_stats_deltas(api, api_key, admin_token, reviewer_token):
    today = now().date().isoformat()
    a = await api.propose(api_key, domains=["db", "perf"], summary="A")
    stats = await api.review_stats(admin_token)
    assert stats["counts"] == {"pending": 1, "approved": 0, "rejected": 0}
    assert stats["domains"] == {}
    assert stats["confidence_distribution"] == review_buckets()
    (event,) = stats["recent_activity"]
    assert set(event) == {"type", "unit_id", "summary", "timestamp"}
    assert event["type"] == "proposed"
    assert event["unit_id"] == a["id"]
    assert event["summary"] == "A"
    assert event["timestamp"].endswith("+00:00")
    assert stats["trends"]["daily"] == [
        {"date": today, "proposed": 1, "approved": 0, "rejected": 0}
    ]

    approval = await api.approve(reviewer_token, a["id"])
    stats = await api.review_stats(admin_token)
    assert stats["counts"] == {"pending": 0, "approved": 1, "rejected": 0}
    assert stats["domains"] == {"db": 1, "perf": 1}
    assert stats["confidence_distribution"] == review_buckets({"0.3-0.6": 1})
    assert stats["recent_activity"] == [
        {
            "type": "approved",
            "unit_id": a["id"],
            "summary": "A",
            "reviewed_by": "rita",
            "timestamp": approval["reviewed_at"],
        }
    ]
    assert stats["trends"]["daily"] == [
        {"date": today, "proposed": 1, "approved": 1, "rejected": 0}
    ]

    b = await api.propose(api_key, domains=["db"], summary="B")
    rejection = await api.reject(admin_token, b["id"])
    c = await api.propose(api_key, domains=["db"], summary="C")
    stats = await api.review_stats(admin_token)
    assert stats["counts"] == {"pending": 1, "approved": 1, "rejected": 1}
    assert stats["domains"] == {"db": 1, "perf": 1}
    assert [(e["type"], e["unit_id"]) for e in stats["recent_activity"]] == [
        ("proposed", c["id"]),
        ("rejected", b["id"]),
        ("approved", a["id"]),
    ]
    assert stats["recent_activity"][1]["reviewed_by"] == "admin"
    assert stats["recent_activity"][1]["timestamp"] == rejection["reviewed_at"]
    assert stats["trends"]["daily"] == [
        {"date": today, "proposed": 3, "approved": 1, "rejected": 1}
    ]

    for _ in range(2):
        await api.confirm(api_key, a["id"])  # 0.7
    stats = await api.review_stats(admin_token)
    assert stats["confidence_distribution"] == review_buckets({"0.6-0.8": 1})
    await api.confirm(api_key, a["id"])  # 0.8
    stats = await api.review_stats(admin_token)
    assert stats["confidence_distribution"] == review_buckets({"0.8-1.0": 1})
    for _ in range(4):
        await api.flag(api_key, a["id"])  # 0.2
    stats = await api.review_stats(admin_token)
    assert stats["confidence_distribution"] == review_buckets({"0.0-0.3": 1})
    # confirmations and flags do not appear in the activity feed or counts
    assert len(stats["recent_activity"]) == 3
    assert stats["counts"] == {"pending": 1, "approved": 1, "rejected": 1}


async def test_review_stats_activity_is_capped_at_20(api, api_key, admin_token):
    for _ in range(23):
        await api.propose(api_key)
    stats = await api.review_stats(admin_token)
    assert len(stats["recent_activity"]) == 20
    assert stats["counts"]["pending"] == 23
    assert stats["trends"]["daily"][-1]["proposed"] == 23
