"""The dashboard's ``/admin/aliases`` in-process, on both backends: admins only, forms checked
for their CSRF token, refusals shown on the page with their status, the nav links it."""

import re

import pytest

from colloquy.domain.models import Role
from colloquy.domain.tags import DEFAULT_ALIASES
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"cq_session={token}"}


async def post(api: Api, path: str, token: str, **form: str):
    csrf = CSRF.search((await api.client.get("/admin/aliases", headers=cookie(token))).text)
    assert csrf is not None
    return await api.client.post(
        path, data={"csrf_token": csrf.group(1), **form}, headers=cookie(token)
    )


async def stored(api: Api) -> dict[str, str]:
    return {a.alias: a.canonical for a in await api.store.list_aliases()}


async def test_admins_see_every_alias_and_the_nav_links_the_page(api, admin_token):
    response = await api.client.get("/admin/aliases", headers=cookie(admin_token))
    assert response.status_code == 200
    assert response.text.count("<tr data-alias=") == len(DEFAULT_ALIASES)
    assert 'href="/admin/aliases" aria-current="page"' in response.text
    users = await api.client.get("/admin/users", headers=cookie(admin_token))
    assert 'href="/admin/aliases"' in users.text


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.MEMBER])
async def test_other_roles_are_refused(api, role):
    token = await api.login((await api.user("someone", role)).username)
    page = await api.client.get("/admin/aliases", headers=cookie(token))
    assert page.status_code == 403
    assert (
        'href="/admin/aliases"' not in (await api.client.get("/keys", headers=cookie(token))).text
    )
    csrf = CSRF.search((await api.client.get("/keys", headers=cookie(token))).text)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "alias": "kub", "canonical": "kubernetes"}
    added = await api.client.post("/admin/aliases", data=form, headers=cookie(token))
    assert added.status_code == 403
    removed = await api.client.post(
        "/admin/aliases/k8s/remove", data={"csrf_token": csrf.group(1)}, headers=cookie(token)
    )
    assert removed.status_code == 403
    assert await stored(api) == dict(DEFAULT_ALIASES)


async def test_add_and_remove_redirect_with_a_notice(api, admin_token):
    added = await post(api, "/admin/aliases", admin_token, alias="KBNs", canonical="kubernetes")
    assert added.status_code == 303
    assert added.headers["location"] == "/admin/aliases?notice=alias_added"
    assert (await stored(api))["kbn"] == "kubernetes"
    again = await post(api, "/admin/aliases", admin_token, alias="kbn", canonical="kubernetes")
    assert again.headers["location"] == "/admin/aliases?notice=alias_kept"
    removed = await post(api, "/admin/aliases/kbn/remove", admin_token)
    assert removed.status_code == 303
    assert removed.headers["location"] == "/admin/aliases?notice=alias_removed"
    assert "kbn" not in await stored(api)


@pytest.mark.parametrize(
    ("alias", "canonical", "status", "message"),
    [
        ("kub", "k8s", 409, "is itself an alias of &#39;kubernetes&#39;"),
        ("pods", "pod", 422, "cannot be an alias of itself"),
        ("x", "a" * 65, 422, "canonical"),
        ("two words", "x", 422, "must be one word"),
    ],
)
async def test_a_refused_alias_is_shown_on_the_page(
    api, admin_token, alias, canonical, status, message
):
    response = await post(api, "/admin/aliases", admin_token, alias=alias, canonical=canonical)
    assert response.status_code == status
    assert 'id="aliases-error"' in response.text
    assert message in response.text
    assert await stored(api) == dict(DEFAULT_ALIASES)


async def test_removing_an_unknown_alias_is_a_404_page(api, admin_token):
    response = await post(api, "/admin/aliases/never/remove", admin_token)
    assert response.status_code == 404
    assert "Alias not found" in response.text


async def test_forms_without_the_csrf_token_are_refused(api, admin_token):
    form = {"alias": "kub", "canonical": "kubernetes"}
    added = await api.client.post("/admin/aliases", data=form, headers=cookie(admin_token))
    assert added.status_code == 403
    removed = await api.client.post("/admin/aliases/k8s/remove", headers=cookie(admin_token))
    assert removed.status_code == 403
    assert await stored(api) == dict(DEFAULT_ALIASES)
