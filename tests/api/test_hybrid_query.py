"""``GET /api/v1/knowledge`` under the default ``CQ_RANKING=hybrid``: ``q`` (alone, hostile,
too long), the 422 without ``domains`` or ``q``, and every other wire behaviour unchanged
(limit cap, approved units only, normalised domains, the envelope)."""

import pytest

from colloquy.domain.ranking import Ranking
from tests.api.conftest import API


async def get(api, params):
    headers = await api.reader_headers()
    return await api.client.get(f"{API}/knowledge", params=params, headers=headers)


async def test_the_default_ranking_is_hybrid(api):
    assert api.settings.ranking is Ranking.HYBRID


async def test_q_alone_finds_by_text(api, api_key, admin_token):
    hit = await api.approved(api_key, admin_token, domains=["db"], summary="Writers deadlock")
    await api.approved(api_key, admin_token, domains=["db"], summary="Vacuum settings")
    response = await get(api, {"q": "two writers deadlock on commit"})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    assert [u["id"] for u in response.json()["data"]] == [hit["id"]]


async def test_aliases_through_the_api(api, api_key, admin_token):
    unit = await api.approved(api_key, admin_token, domains=["postgresql"], summary="Index")
    assert [u["id"] for u in await api.query({"domains": "Postgres"})] == [unit["id"]]


@pytest.mark.parametrize(
    "q", ['"deadlock', "NEAR(deadlock) * : & ! OR", "deadlock:x AND -y", "*** ::: !!!"]
)
async def test_q_with_operators_is_plain_words(api, api_key, admin_token, q):
    hit = await api.approved(api_key, admin_token, domains=["db"], summary="Writers deadlock")
    response = await get(api, {"q": q})
    assert response.status_code == 200, response.text
    expected = [hit["id"]] if "deadlock" in q else []
    assert [u["id"] for u in response.json()["data"]] == expected


async def test_q_at_most_1000_characters(api):
    assert (await get(api, {"q": "x" * 1000})).status_code == 200
    response = await get(api, {"q": "x" * 1001})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "q"]


@pytest.mark.parametrize("params", [{}, {"limit": 5}, {"q": "   "}], ids=["none", "limit", "blank"])
async def test_neither_domains_nor_q_is_422(api, params):
    response = await get(api, params)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "domains"]
    assert "q" in error["msg"]


async def test_wire_behaviours_unchanged(api, api_key, admin_token):
    await api.approved(api_key, admin_token, domains=["web"], summary="Pending one")
    pending = await api.propose(api_key, domains=["web"], summary="Still pending")
    approved = [
        await api.approved(api_key, admin_token, domains=["web"], summary=f"Cache {n}")
        for n in range(3)
    ]
    found = await api.query({"domains": " WEB ", "q": "cache", "limit": 2})
    assert len(found) == 2
    assert {u["id"] for u in found} <= {u["id"] for u in approved}
    everything = await api.query({"domains": "web", "limit": 1000})
    assert pending["id"] not in {u["id"] for u in everything}
    assert len(everything) == 4
    assert all("created_by" not in u for u in everything)
    assert await api.query({"domains": "web,api"}) == []


def test_q_is_documented(client_app_schema):
    parameters = {p["name"]: p for p in client_app_schema}
    assert parameters["q"]["schema"]["maxLength"] == 1000
    assert "cq" in parameters["q"]["description"]
    assert parameters["q"]["required"] is False
    assert parameters["domains"]["required"] is False


@pytest.fixture
def client_app_schema(settings, store):
    from colloquy.app import create_app

    schema = create_app(settings, store).openapi()
    return schema["paths"]["/api/v1/knowledge"]["get"]["parameters"]


class TestCqMode:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"ranking": Ranking.CQ})

    async def test_q_is_ignored_and_domains_required(self, api, api_key, admin_token):
        a = await api.approved(api_key, admin_token, domains=["web"], summary="Nothing")
        b = await api.approved(api_key, admin_token, domains=["web", "x"], summary="Deadlock")
        found = await api.query({"domains": "web", "q": "deadlock"})
        assert [u["id"] for u in found] == [a["id"], b["id"]]
        response = await get(api, {"q": "deadlock"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "domains"]
