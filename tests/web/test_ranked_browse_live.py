"""After the merge with hybrid ranking: the units page's text search ranks approved units end to
end, on both backends, through the real store and its alias table."""

import re

from tests.api.conftest import Api

UNIT_LINK = re.compile(r'<a href="/units/([^"]+)" class="unit-title">')


async def test_a_text_search_ranks_approved_units_with_aliases(api: Api, api_key, admin_token):
    wanted = await api.approved(
        api_key,
        admin_token,
        domains=["kubernetes"],
        summary="Liveness probe kills slow pods",
        detail="A liveness probe with a short timeout restarts pods under load.",
    )
    other = await api.approved(
        api_key,
        admin_token,
        domains=["python"],
        summary="Pin dependencies in lock files",
    )
    pending = await api.propose(api_key, domains=["kubernetes"], summary="Liveness probe pending")
    page = await api.client.get(
        "/units",
        params={"q": "k8s liveness probe timeout"},
        headers={"Cookie": f"cq_session={admin_token}"},
    )
    assert page.status_code == 200, page.text
    assert 'id="ranked-note"' in page.text
    found = UNIT_LINK.findall(page.text)
    assert found[0] == wanted["id"]
    assert pending["id"] not in found  # approved units only
    assert other["id"] not in found[:1]


async def test_an_alias_added_by_an_admin_is_used_by_the_next_query(api: Api, api_key, admin_token):
    unit = await api.approved(
        api_key, admin_token, domains=["kubernetes"], summary="Probe timeouts"
    )
    assert await api.query({"domains": "kbn"}) == []
    put = await api.client.put(
        "/api/v1/admin/aliases/kbn",
        json={"canonical": "kubernetes"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert put.status_code == 201
    assert [u["id"] for u in await api.query({"domains": "kbn"})] == [unit["id"]]
    removed = await api.client.delete(
        "/api/v1/admin/aliases/kbn", headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert removed.status_code == 200
    assert await api.query({"domains": "kbn"}) == []
