"""Duplicates over the API: a unit's neighbours for reviewers, and a rejection that names the
unit it duplicates (an addition: the reject body and its answer without it are unchanged)."""

import pytest

from tests.api.conftest import API, bearer
from tests.store.test_duplicates import BLOCKING, BLOCKING_AGAIN, UNRELATED

UNKNOWN = "ku_" + "0" * 32


async def propose(api, key, insight, domains=("python",)):
    return await api.propose(
        key,
        domains=domains,
        summary=insight.summary,
        detail=insight.detail,
        action=insight.action,
    )


@pytest.fixture
async def twins(api, api_key, admin_token):
    """An approved unit and a pending near-copy of it, among a few units on other things."""
    for insight in UNRELATED * 3:
        await api.approve(admin_token, (await propose(api, api_key, insight, ("ops",)))["id"])
    original = await propose(api, api_key, BLOCKING)
    await api.approve(admin_token, original["id"])
    copy = await propose(api, api_key, BLOCKING_AGAIN, ("python", "asyncio"))
    return original, copy


async def reject(api, token, unit_id, body):
    return await api.client.post(f"{API}/review/{unit_id}/reject", json=body, headers=bearer(token))


async def test_the_propose_answer_stays_the_bare_unit(api, api_key, twins):
    _, copy = twins
    assert "neighbours" not in copy and "duplicate_of" not in copy


async def test_neighbours_of_a_unit(api, reviewer_token, member_token, twins):
    original, copy = twins
    response = await api.client.get(
        f"{API}/review/{copy['id']}/neighbours", headers=bearer(reviewer_token)
    )
    assert response.status_code == 200, response.text
    (first,) = response.json()
    assert set(first) == {"unit_id", "summary", "status", "score"}
    assert first["unit_id"] == original["id"]
    assert first["summary"] == BLOCKING.summary
    assert first["status"] == "approved"
    assert 0.35 <= first["score"] <= 1
    missing = await api.client.get(
        f"{API}/review/{UNKNOWN}/neighbours", headers=bearer(reviewer_token)
    )
    assert missing.status_code == 404
    refused = await api.client.get(
        f"{API}/review/{copy['id']}/neighbours", headers=bearer(member_token)
    )
    assert refused.status_code == 403


async def test_reject_as_a_duplicate(api, admin_token, twins):
    original, copy = twins
    response = await reject(
        api, admin_token, copy["id"], {"reason": "same", "duplicate_of": original["id"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "rejected"
    assert body["duplicate_of"] == original["id"]
    history = await api.store.history(copy["id"], 10)
    assert (history[-1].kind, history[-1].actor, history[-1].note, history[-1].duplicate_of) == (
        "rejected",
        "admin",
        "same",
        original["id"],
    )
    # A plain rejection answers exactly as before.
    other = await api.propose(await api.key(admin_token))
    plain = await reject(api, admin_token, other["id"], None)
    assert set(plain.json()) == {"unit_id", "status", "reviewed_by", "reviewed_at"}


@pytest.mark.parametrize("original", ["missing", "itself", "rejected", "not an id"])
async def test_reject_as_a_duplicate_of_no_original_is_422(
    api, api_key, admin_token, twins, original
):
    _, copy = twins
    rejected = await api.propose(api_key)
    await api.reject(admin_token, rejected["id"])
    named = {
        "missing": UNKNOWN,
        "itself": copy["id"],
        "rejected": rejected["id"],
        "not an id": "ku_' OR 1=1 --",
    }[original]
    response = await reject(api, admin_token, copy["id"], {"duplicate_of": named})
    assert response.status_code == 422, response.text
    assert (await api.review_item(admin_token, copy["id"]))["status"] == "pending"
