"""Simultaneous requests against a live single-worker server, on both backends.

Counts are asserted exactly; the wall times are only printed (run with ``-s``)."""

from tests.live.helpers import Call, Deployment, bearer, burst, confirmations, unique


async def test_simultaneous_confirmations_all_count(deployment: Deployment) -> None:
    unit_id = deployment.approved_unit()
    result = await burst(
        "confirms on one unit",
        deployment.base_url,
        confirmations(unit_id, 200),
        deployment.key_headers,
    )
    result.report(deployment.backend)
    assert result.statuses == {201: 200}
    evidence = deployment.unit(unit_id)["evidence"]
    assert evidence["confirmations"] == 201
    assert evidence["confidence"] == 1.0


async def test_simultaneous_flags_all_recorded(deployment: Deployment) -> None:
    unit_id = deployment.approved_unit()
    calls = [Call("POST", f"/api/v1/knowledge/{unit_id}/flags", {"reason": "stale"})] * 20
    result = await burst("flags on one unit", deployment.base_url, calls, deployment.key_headers)
    result.report(deployment.backend)
    assert result.statuses == {201: 20}
    unit = deployment.unit(unit_id)
    assert len(unit["flags"]) == 20
    assert {f["reason"] for f in unit["flags"]} == {"stale"}
    assert unit["evidence"]["confidence"] == 0.0
    assert unit["evidence"]["confirmations"] == 1


async def test_simultaneous_approvals_decide_once(deployment: Deployment) -> None:
    unit_id = deployment.propose(unique())["id"]
    calls = [Call("POST", f"/api/v1/review/{unit_id}/approve")] * 10
    result = await burst(
        "approvals of one unit", deployment.base_url, calls, deployment.jwt_headers
    )
    result.report(deployment.backend)
    assert result.statuses == {200: 1, 409: 9}
    conflicts = {r.json()["detail"] for r in result.responses if r.status_code == 409}
    assert conflicts == {"Knowledge unit already approved"}
    assert deployment.review_item(unit_id)["status"] == "approved"


async def test_simultaneous_key_creations_respect_the_limit(deployment: Deployment) -> None:
    username, password = unique("u"), "member-password-1"
    deployment.create_user(username, password)
    token = deployment.session(username, password)
    calls = [
        Call("POST", "/api/v1/users/me/api-keys", {"name": f"k{i}", "ttl": "1d"}) for i in range(30)
    ]
    result = await burst("API-key creations", deployment.base_url, calls, bearer(token))
    result.report(deployment.backend)
    assert result.statuses == {201: 20, 409: 10}
    conflicts = {r.json()["detail"] for r in result.responses if r.status_code == 409}
    assert conflicts == {"Maximum of 20 active API keys per user"}
    listed = deployment.request("GET", "/api/v1/users/me/api-keys", bearer(token)).json()["data"]
    assert len(listed) == 20
    assert all(k["is_active"] for k in listed)
    # Every key handed out works.
    tokens = [r.json()["token"] for r in result.responses if r.status_code == 201]
    unit = deployment.propose(unique(), api_key=tokens[-1])
    assert unit["created_by"] == username
