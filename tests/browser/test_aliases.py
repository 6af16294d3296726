"""The tag alias page end to end: an admin adds an alias from the nav's Aliases page, sees it
listed and in the API, removes it, and finds both in the audit trail."""

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Dash, shot


def test_admin_adds_and_removes_an_alias(page: Page, dash: Dash) -> None:
    # Letters only: hex digits after four letters would read as a version suffix ("zzfe1714").
    # The last letter is fixed: a random "...ie" + "s" would be stored as "...y".
    letters = uuid.uuid4().hex[:6].translate(str.maketrans("0123456789", "ghijklmnop"))
    alias = f"zz{letters}k"
    page.goto("/review")
    page.get_by_role("link", name="Aliases").click()
    expect(page).to_have_title("Tag aliases · colloquy")
    expect(page.locator('tr[data-alias="k8s"]')).to_contain_text("kubernetes")

    page.get_by_label("Alias", exact=True).fill(alias.upper() + "s")  # stored as its tag word
    page.get_by_label("Stands for").fill("Kubernetes")
    page.get_by_role("button", name="Add alias").click()
    expect(page.get_by_role("status")).to_have_text("Alias added. Queries use it at once.")
    row = page.locator(f'tr[data-alias="{alias}"]')
    expect(row).to_contain_text("kubernetes")
    expect(row).to_contain_text("admin")
    listed = dash.api("GET", "/api/v1/admin/aliases", dash.admin_jwt).json()["data"]
    assert {a["alias"]: a["canonical"] for a in listed}[alias] == "kubernetes"
    shot(page, "admin-aliases")

    # A chain is refused with the reason, and the form keeps what was typed.
    page.get_by_label("Alias", exact=True).fill("kub")
    page.get_by_label("Stands for").fill(alias)
    page.get_by_role("button", name="Add alias").click()
    expect(page.locator("#aliases-error")).to_contain_text("is itself an alias of 'kubernetes'")
    expect(page.get_by_label("Alias", exact=True)).to_have_value("kub")

    row.get_by_role("button", name=f"Remove the alias {alias}").click()
    expect(page.get_by_role("status")).to_have_text("Alias removed.")
    expect(page.locator(f'tr[data-alias="{alias}"]')).to_have_count(0)

    page.get_by_role("link", name="Audit").click()
    rows = page.locator("#audit tbody tr").filter(has_text=alias)
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-action") for i in range(2)] == [
        "alias_removed",
        "alias_added",
    ]
    expect(rows.first).to_contain_text("Alias removed")


def test_alias_forms_need_the_csrf_token(page: Page, dash: Dash) -> None:
    cookie = next(c for c in page.context.cookies() if c["name"] == "cq_session")
    with httpx.Client(base_url=dash.url, cookies={"cq_session": cookie["value"]}) as http:
        forged = http.post("/admin/aliases", data={"alias": "forged", "canonical": "x"})
        assert forged.status_code == 403
        assert http.post("/admin/aliases/k8s/remove", data={}).status_code == 403
    listed = dash.api("GET", "/api/v1/admin/aliases", dash.admin_jwt).json()["data"]
    aliases = {a["alias"] for a in listed}
    assert "forged" not in aliases
    assert "k8s" in aliases
