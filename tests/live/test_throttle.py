"""Throttles shared by server processes: two ``colloquy serve`` processes on one PostgreSQL
database, each request of a burst sent to them in turn, count sign-in failures and writes as
one."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.helpers import Call, Deployment, burst, deploy, propose_body, unique
from tests.support.pgserver import PostgresServer

FREE_ATTEMPTS = 3
PROPOSALS_PER_MINUTE = 5


@pytest.fixture(scope="module")
def pair(
    pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    settings = {
        "CQ_LOGIN_FREE_ATTEMPTS": str(FREE_ATTEMPTS),
        "CQ_RATE_LIMIT_PROPOSE": str(PROPOSALS_PER_MINUTE),
    }
    data_dir: Path = tmp_path_factory.mktemp("throttle-pair")
    with deploy(
        "postgres", data_dir, pg_server, servers=2, admin_role="admin", settings=settings
    ) as running:
        yield running


async def test_simultaneous_failed_sign_ins_over_two_processes_all_count(pair: Deployment):
    name = unique("user")
    pair.create_user(name, "the-right-password")
    body = {"username": name, "password": "a wrong password"}
    calls = [Call("POST", "/api/v1/auth/login", body)] * 10
    result = await burst("wrong sign-ins", pair.base_url, pair.spread(calls), {})
    result.report(pair.backend)
    assert result.statuses == {401: FREE_ATTEMPTS, 429: 10 - FREE_ATTEMPTS}
    for response in result.responses:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["detail"].startswith("Too many failed sign-ins.")


async def test_proposals_over_two_processes_share_the_key_limit(pair: Deployment):
    calls = [Call("POST", "/api/v1/knowledge", propose_body(unique()))] * 8
    result = await burst("proposals", pair.base_url, pair.spread(calls), pair.key_headers)
    result.report(pair.backend)
    assert result.statuses == {201: PROPOSALS_PER_MINUTE, 429: 8 - PROPOSALS_PER_MINUTE}
    queue = pair.request("GET", "/api/v1/review/queue?limit=0", pair.jwt_headers)
    assert queue.json()["total"] == PROPOSALS_PER_MINUTE
