"""The tag alias table over HTTP: ``/api/v1/admin/aliases`` lists, adds and removes aliases for
admin sessions only, refuses bad words (422) and conflicts with the stored table (409), and
every change lands in the audit trail with its admin."""

import pytest

from colloquy.domain.models import Role
from colloquy.domain.tags import DEFAULT_ALIASES
from tests.api.conftest import API, bearer

ALIASES = f"{API}/admin/aliases"


async def listed(api, token) -> dict[str, str]:
    response = await api.client.get(ALIASES, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    return {a["alias"]: a["canonical"] for a in response.json()["data"]}


async def test_admins_list_the_default_aliases(api, admin_token):
    response = await api.client.get(ALIASES, headers=bearer(admin_token))
    assert response.status_code == 200
    data = response.json()["data"]
    assert [a["alias"] for a in data] == sorted(DEFAULT_ALIASES)
    assert data[0]["added_by"] == "colloquy"
    assert data[0]["added_at"].endswith("+00:00")
    assert set(data[0]) == {"alias", "canonical", "added_by", "added_at"}


async def test_an_admin_adds_and_removes_an_alias_and_both_are_audited(api, admin_token):
    put = await api.client.put(
        f"{ALIASES}/KBNs", json={"canonical": "Kubernetes"}, headers=bearer(admin_token)
    )
    assert put.status_code == 201, put.text
    body = put.json()
    assert (body["alias"], body["canonical"], body["added_by"]) == ("kbn", "kubernetes", "admin")
    assert (await listed(api, admin_token))["kbn"] == "kubernetes"

    again = await api.client.put(
        f"{ALIASES}/kbn", json={"canonical": "kubernetes"}, headers=bearer(admin_token)
    )
    assert again.status_code == 200  # the same alias again changes nothing
    assert again.json() == body

    removed = await api.client.delete(f"{ALIASES}/kbn", headers=bearer(admin_token))
    assert removed.status_code == 200
    assert removed.json() == body
    assert "kbn" not in await listed(api, admin_token)
    gone = await api.client.delete(f"{ALIASES}/kbn", headers=bearer(admin_token))
    assert gone.status_code == 404
    assert gone.json() == {"detail": "Alias not found"}

    audit = await api.client.get(f"{API}/audit", headers=bearer(admin_token))
    entries = [(e["action"], e["actor"], e["target"], e["detail"]) for e in audit.json()["data"]]
    assert entries == [
        ("alias_removed", "admin", "kbn", {"canonical": "kubernetes"}),
        ("alias_added", "admin", "kbn", {"canonical": "kubernetes"}),
    ]


@pytest.mark.parametrize("alias", ["nul%00", "%ED%A0%80", "a" * 65, "never"])
async def test_removing_what_was_never_stored_is_404(api, admin_token, alias):
    response = await api.client.delete(f"{ALIASES}/{alias}", headers=bearer(admin_token))
    assert response.status_code in (404, 422), response.text
    assert await listed(api, admin_token) == dict(DEFAULT_ALIASES)


async def test_an_alias_is_removed_by_any_spelling_of_its_word(api, admin_token):
    response = await api.client.delete(f"{ALIASES}/K8S", headers=bearer(admin_token))
    assert response.status_code == 200
    assert response.json()["alias"] == "k8s"
    assert "k8s" not in await listed(api, admin_token)


@pytest.mark.parametrize(
    ("alias", "canonical", "message"),
    [
        ("k8", "k8", "cannot be an alias of itself"),
        ("timeouts", "timeout", "cannot be an alias of itself"),
        ("x", "two words", "must be one word"),
        ("x", "---", "must be one word"),
        ("x", "a" * 65, None),
        ("a" * 65, "x", None),
        ("\u0130" * 64, "x", "at most 64"),  # 64 characters, 128 once lower-cased
        ("x", "", None),
        ("x", "nul\x00", None),
    ],
)
async def test_bad_words_are_422(api, admin_token, alias, canonical, message):
    response = await api.client.put(
        f"{ALIASES}/{alias}", json={"canonical": canonical}, headers=bearer(admin_token)
    )
    assert response.status_code == 422, response.text
    if message is not None:
        assert message in response.json()["detail"]
    assert await listed(api, admin_token) == dict(DEFAULT_ALIASES)


async def test_a_body_without_canonical_is_422(api, admin_token):
    response = await api.client.put(f"{ALIASES}/x", json={}, headers=bearer(admin_token))
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("alias", "canonical", "message"),
    [
        ("k8s", "kube", "'k8s' is already an alias of 'kubernetes'; remove it first"),
        ("kub", "k8s", "'k8s' is itself an alias of 'kubernetes'; use that"),
        ("kubernetes", "orchestrator", "'kubernetes' already has aliases of its own"),
    ],
)
async def test_conflicts_with_the_stored_aliases_are_409(
    api, admin_token, alias, canonical, message
):
    response = await api.client.put(
        f"{ALIASES}/{alias}", json={"canonical": canonical}, headers=bearer(admin_token)
    )
    assert response.status_code == 409
    assert message in response.json()["detail"]
    assert await listed(api, admin_token) == dict(DEFAULT_ALIASES)


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.MEMBER])
async def test_only_admins_see_or_change_aliases(api, role):
    token = await api.token("someone", role)
    calls = [
        ("GET", ALIASES, None),
        ("PUT", f"{ALIASES}/kub", {"canonical": "kubernetes"}),
        ("DELETE", f"{ALIASES}/k8s", None),
    ]
    for method, url, body in calls:
        response = await api.client.request(method, url, json=body, headers=bearer(token))
        assert response.status_code == 403, (method, response.text)
        anonymous = await api.client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, anonymous.text)
    admin = await api.token("boss", Role.ADMIN)
    assert await listed(api, admin) == dict(DEFAULT_ALIASES)


async def test_an_api_key_is_no_admin_session(api, admin_token, api_key):
    response = await api.client.get(ALIASES, headers=bearer(api_key))
    assert response.status_code == 401
