"""Health, node discovery, routing conventions and the request-body limit."""

import json

import pytest

from tests.api.conftest import API, bearer
from tests.support.schemas import validate


async def test_health(client):
    response = await client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}
    validate("health", response.json())


async def test_health_trailing_slash_is_not_redirected(client):
    response = await client.get(f"{API}/health/", params={"x": "1"})
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer junk"}, {"Accept": "application/json"}],
    ids=["no-auth", "bad-auth", "accept-json"],
)
async def test_node_discovery_is_json_404_without_auth(client, headers):
    response = await client.get("/.well-known/cq-node.json", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": "Not Found"}


async def test_unknown_path_is_404(client):
    response = await client.get(f"{API}/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_no_public_single_unit_fetch(client):
    response = await client.get(f"{API}/knowledge/ku_" + "0" * 32)
    assert response.status_code in {404, 405}


async def test_wrong_method_is_405(client):
    response = await client.delete(f"{API}/health")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_openapi_title(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "cq Server"


async def test_openapi_documents_the_agents_routes_once_in_their_place(client):
    """They are matched first (a second, undocumented inclusion) but listed where they were."""
    paths = list((await client.get("/openapi.json")).json()["paths"])
    knowledge = [path for path in paths if path.startswith(f"{API}/knowledge")]
    assert len(knowledge) == len(set(knowledge)) == 4
    first = paths.index(knowledge[0])
    assert paths[first : first + 4] == knowledge
    assert paths.index(f"{API}/users") < first < paths.index(f"{API}/review/queue")


async def test_body_over_one_mebibyte_is_413(client, api_key):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(
        f"{API}/knowledge",
        content=body,
        headers={**bearer(api_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}


async def test_chunked_body_over_limit_is_413(client, api_key):
    async def chunks():
        yield b'{"pad": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        f"{API}/knowledge",
        content=chunks(),
        headers={**bearer(api_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}


async def test_body_just_under_limit_is_not_413(client, api_key):
    summary = "s" * 100
    pad = "x" * (1024 * 1024 - 500)
    body = json.dumps(
        {
            "domains": ["web"],
            "insight": {"summary": summary, "detail": "d", "action": "a"},
            "pad": pad,
        }
    ).encode()
    assert len(body) <= 1024 * 1024
    response = await client.post(
        f"{API}/knowledge",
        content=body,
        headers={**bearer(api_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
