"""The units page's text search ranks as agents' queries do when the server's ranking is
hybrid (approved units, best first, "ranked by relevance"); any other filter, and cq ranking,
keep the filtered, paged browse.

Until hybrid ranking lands in the store (its ``query`` ignores ``q`` today), the ranked answer
comes from ``AnsweringStore``: the real store, whose ``query`` records the spec it is asked and
answers with real approved units in an order the test picks. What the page sends and how it
renders the answer is what these tests prove; the ranking itself is the store's to test."""

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from colloquy.app import create_app
from colloquy.config import Settings
from colloquy.domain.models import KnowledgeUnit
from colloquy.store.protocol import QuerySpec, Ranking, Store
from tests.api.conftest import Api

UNIT_LINK = re.compile(r'<a href="/units/([^"]+)" class="unit-title">')
RANKED_NOTE = 'id="ranked-note"'


class AnsweringStore:
    """``store`` with ``query`` answered by ``answer`` (and each spec kept in ``asked``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.asked: list[QuerySpec] = []
        self.answer: list[KnowledgeUnit] = []

    async def query(self, spec: QuerySpec) -> list[KnowledgeUnit]:
        self.asked.append(spec)
        return self.answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def answering(store: Store) -> AnsweringStore:
    return AnsweringStore(store)


async def dashboard(settings: Settings, store: Any, ranking: Ranking) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update={"ranking": ranking}), store)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def hybrid(settings, answering) -> AsyncIterator[httpx.AsyncClient]:
    async with await dashboard(settings, answering, Ranking.HYBRID) as client:
        yield client


@pytest.fixture
async def cq(settings, store) -> AsyncIterator[httpx.AsyncClient]:
    async with await dashboard(settings, store, Ranking.CQ) as client:
        yield client


async def units_page(client: httpx.AsyncClient, token: str, **params: str) -> httpx.Response:
    response = await client.get("/units", params=params, headers={"Cookie": f"cq_session={token}"})
    assert response.status_code == 200, response.text
    return response


async def proposals(api: Api, key: str, token: str) -> tuple[list[str], str]:
    """Two approved units about retries and a pending one: their ids."""
    approved = [
        (await api.approved(key, token, summary=f"Retry uploads with backoff {n}"))["id"]
        for n in range(2)
    ]
    pending = (await api.propose(key, summary="Retry uploads pending review"))["id"]
    return approved, pending


async def test_a_text_search_lists_the_store_s_ranking(
    api, api_key, admin_token, answering, hybrid
):
    approved, _ = await proposals(api, api_key, admin_token)
    ranked = [await api.store.get_approved(i) for i in reversed(approved)]
    answering.answer = [u for u in ranked if u is not None]

    page = await units_page(hybrid, admin_token, q="retry uploads")
    assert answering.asked == [
        QuerySpec(domains=[], q="retry uploads", ranking=Ranking.HYBRID, limit=50)
    ]
    assert UNIT_LINK.findall(page.text) == list(reversed(approved))  # the store's order
    assert RANKED_NOTE in page.text
    assert "ranked by relevance" in page.text
    assert page.text.count('class="status status-approved"') == 2
    assert 'id="next-page"' not in page.text

    # Asking for approved units only is the same search.
    await units_page(hybrid, admin_token, q="retry uploads", status="approved")
    assert len(answering.asked) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"q": "retry uploads", "status": "pending"},
        {"q": "retry uploads", "created_by": "admin"},
        {"q": "retry uploads", "domain": "web"},
        {"q": "retry uploads", "confidence_min": "0.1"},
        {"status": "approved"},
        {},
    ],
)
async def test_other_filters_keep_the_paged_browse(
    api, api_key, admin_token, answering, hybrid, params
):
    await proposals(api, api_key, admin_token)
    page = await units_page(hybrid, admin_token, **params)
    assert answering.asked == []
    assert RANKED_NOTE not in page.text
    assert UNIT_LINK.findall(page.text)  # the filter page found units


async def test_cq_ranking_keeps_the_text_filter(api, api_key, admin_token, cq):
    approved, pending = await proposals(api, api_key, admin_token)
    page = await units_page(cq, admin_token, q="retry uploads")
    assert RANKED_NOTE not in page.text
    assert set(UNIT_LINK.findall(page.text)) == {*approved, pending}  # every status
