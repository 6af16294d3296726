"""The review dashboard end to end: a real server, a real browser, the API alongside."""

import re
import uuid

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN, Dash, new_context, shot, sign_in


def show_card(page: Page, unit_id: str) -> None:
    """Open the review page and skip (with the keyboard) until ``unit_id`` is on the card."""
    page.goto("/review")
    for _ in range(30):
        card = page.locator("#review-card")
        expect(card).to_be_visible()
        if card.get_attribute("data-unit-id") == unit_id:
            return
        with page.expect_navigation():
            page.keyboard.press("s")
    raise AssertionError(f"{unit_id} never reached the card")


def test_sign_in_page(browser: Browser, dash: Dash) -> None:
    context = new_context(browser, dash)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page).to_have_title("Sign in · colloquy")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_have_text("Invalid username or password.")
    shot(page, "sign-in")
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/review$"))
    cookie = next(c for c in context.cookies() if c["name"] == "cq_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    context.close()


def test_approve_with_keyboard(page: Page, dash: Dash) -> None:
    domain, unit_id = dash.propose_ok("Pin the httpx version in CI")
    show_card(page, unit_id)
    card = page.locator("#review-card")
    expect(card.locator("#card-summary")).to_have_text("Pin the httpx version in CI")
    expect(card).to_contain_text(domain)
    expect(card).to_contain_text("agent")  # the proposer
    expect(card).to_contain_text("fastapi")
    pending_before = int(page.locator("#pending-count").inner_text().split()[0])
    shot(page, "review")
    page.keyboard.press("?")
    expect(page.locator("#keymap")).to_be_visible()
    shot(page, "review-keymap")
    page.keyboard.press("Escape")
    expect(page.locator("#keymap")).to_be_hidden()
    with page.expect_navigation():
        page.keyboard.press("a")
    expect(page.get_by_role("status")).to_contain_text("Approved")
    found = dash.api("GET", "/api/v1/knowledge", dash.agent_key, params={"domains": domain})
    assert found.status_code == 200
    assert [u["id"] for u in found.json()["data"]] == [unit_id]
    assert int(page.locator("#pending-count").inner_text().split()[0]) == pending_before - 1


def test_reject_with_reason(page: Page, dash: Dash) -> None:
    _, unit_id = dash.propose_ok("Disable TLS verification to fix flaky tests")
    show_card(page, unit_id)
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.type("Unsafe: hides real certificate problems.")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Rejected")
    page.goto(f"/units/{unit_id}")
    expect(page.locator("#review-note")).to_contain_text("Unsafe: hides real certificate problems.")
    expect(page.locator("#review-line")).to_contain_text("Rejected by admin")
    history = page.locator("#history")
    expect(history).to_contain_text("proposed")
    expect(history).to_contain_text("rejected")
    shot(page, "unit")
    unit = dash.api("GET", f"/api/v1/review/{unit_id}", dash.admin_jwt).json()
    assert unit["status"] == "rejected"


def test_someone_else_decided_first(page: Page, dash: Dash) -> None:
    _, unit_id = dash.propose_ok("Cache the embeddings per file")
    show_card(page, unit_id)
    decided = dash.api("POST", f"/api/v1/review/{unit_id}/approve", dash.admin_jwt)
    assert decided.status_code == 200
    with page.expect_navigation():
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("status")).to_have_text("Someone else already reviewed that unit")


def test_units_list_filters(page: Page, dash: Dash) -> None:
    domain, unit_id = dash.propose_ok("Prefer keyset pagination over offsets")
    page.goto("/units")
    page.get_by_label("Domain", exact=True).fill(domain)
    page.get_by_label("Status").select_option("pending")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#unit-list .unit-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Prefer keyset pagination over offsets")
    page.goto("/units?status=pending&created_by=agent")
    expect(page).to_have_title(re.compile(r"^Units: "))
    shot(page, "units")
    page.locator(f'a[href="/units/{unit_id}"]').first.click()
    expect(page.locator("#unit-summary")).to_have_text("Prefer keyset pagination over offsets")


def test_units_text_search(page: Page, dash: Dash) -> None:
    word = f"zephyr{uuid.uuid4().hex[:6]}"
    _, unit_id = dash.propose_ok(f"Retry {word} uploads with backoff")
    dash.propose_ok("An unrelated unit about caching")
    page.goto("/units")
    page.get_by_label("Search text").fill(f"{word} backoff")
    # With a status the text filters the paged list (text alone is a ranked search of the
    # approved units: tests/web/test_ranked_browse.py).
    page.get_by_label("Status").select_option("pending")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#unit-list .unit-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(f'a[href="/units/{unit_id}"]')).to_be_visible()


def test_api_key_lifecycle(page: Page, dash: Dash) -> None:
    name = f"ui-key-{uuid.uuid4().hex[:6]}"
    page.goto("/keys")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Lifetime").fill("30d")
    page.get_by_label("Labels").fill("ci, browser")
    page.get_by_role("button", name="Create key").click()
    token = page.locator("#token-value").input_value()
    assert token
    expect(page.locator("#new-token")).to_contain_text("shown only this once")
    shot(page, "keys-created")
    proposed = dash.propose("ui-keys", "Proposed with a key made in the UI", key=token)
    assert proposed.status_code == 201, proposed.text

    page.goto("/keys")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once only
    row = page.locator(f'tr[data-key-name="{name}"]')
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("30d left")
    shot(page, "keys")
    row.get_by_role("link", name=f"Revoke {name}").click()
    expect(page).to_have_title(f"Revoke API key {name}? · colloquy")
    shot(page, "keys-revoke-confirm")
    page.locator("#confirm-button").click()
    expect(page.get_by_role("status")).to_have_text("API key revoked.")
    expect(page.locator(f'tr[data-key-name="{name}"]')).to_contain_text("revoked")
    refused = dash.propose("ui-keys", "Should be refused", key=token)
    assert refused.status_code == 401


def test_dashboard_matches_stats(browser: Browser, page: Page, dash: Dash) -> None:
    dash.propose_ok("One more pending unit for the dashboard")
    stats = dash.api("GET", "/api/v1/review/stats", dash.admin_jwt).json()
    page.goto("/dashboard")
    expect(page).to_have_title("Dashboard · colloquy")
    for status in ("pending", "approved", "rejected"):
        shown = page.locator(f"#count-{status}").inner_text()
        assert int(shown) == stats["counts"][status], status
    assert int(page.locator("#pending-count").inner_text().split()[0]) == stats["counts"]["pending"]
    for domain, count in stats["domains"].items():
        units = "1 approved unit" if count == 1 else f"{count} approved units"
        expect(page.locator(f'svg a[aria-label="{domain}: {units}"]')).to_have_count(1)
    for label, count in stats["confidence_distribution"].items():
        units = "1 unit" if count == 1 else f"{count} units"
        expect(page.locator(f'svg a[aria-label="{label}: {units}"]')).to_have_count(1)
    expect(page.locator("#recent-activity li")).to_have_count(len(stats["recent_activity"]))
    shot(page, "dashboard")
    page.locator('a[href="/units?status=rejected"]').first.click()
    expect(page.locator("#unit-list .unit-row")).to_have_count(stats["counts"]["rejected"])

    for scheme, size, name in (
        ("dark", {"width": 1280, "height": 900}, "dashboard-dark"),
        ("light", {"width": 390, "height": 844}, "dashboard-phone"),
        ("dark", {"width": 390, "height": 844}, "review-phone-dark"),
    ):
        context = new_context(browser, dash, color_scheme=scheme, viewport=size)
        other = context.new_page()
        sign_in(other)
        other.goto("/review" if "review" in name else "/dashboard")
        shot(other, name)
        context.close()


def test_admin_users(page: Page, dash: Dash) -> None:
    username = f"rev-{uuid.uuid4().hex[:6]}"
    page.goto("/admin/users")
    expect(page).to_have_title("Users · colloquy")
    page.get_by_label("Username").fill(username)
    page.locator("#new-password").fill("reviewer-password-1")
    page.get_by_label("Role", exact=True).select_option("member")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_have_text("User created.")
    row = page.locator(f'li[data-username="{username}"]')
    row.get_by_label(f"Role of {username}").select_option("reviewer")
    row.get_by_role("button", name="Set role").click()
    expect(page.get_by_role("status")).to_have_text("Role changed.")
    user = dash.api("GET", "/api/v1/users", dash.admin_jwt).json()["data"]
    assert {u["username"]: u["role"] for u in user}[username] == "reviewer"
    row = page.locator(f'li[data-username="{username}"]')
    row.get_by_label(f"New password for {username}").fill("another-password-2")
    row.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("status")).to_have_text("Password reset.")
    shot(page, "admin-users")
    page.locator(f'li[data-username="{username}"]').get_by_role("link", name="Delete").click()
    page.locator("#confirm-button").click()
    expect(page.get_by_role("status")).to_have_text("User deleted.")
    expect(page.locator(f'li[data-username="{username}"]')).to_have_count(0)
    # Each of those admin actions is in the audit trail, newest first.
    page.get_by_role("link", name="Audit").click()
    expect(page).to_have_title("Audit trail · colloquy")
    rows = page.locator("#audit tbody tr").filter(has_text=username)
    expect(rows).to_have_count(4)
    actions = ["user_deleted", "password_reset", "role_changed", "user_created"]
    assert [rows.nth(i).get_attribute("data-action") for i in range(4)] == actions
    shot(page, "admin-audit")


def test_post_without_csrf_token_is_refused(page: Page, dash: Dash) -> None:
    _, unit_id = dash.propose_ok("Unit that a forged form tries to approve")
    cookie = next(c for c in page.context.cookies() if c["name"] == "cq_session")
    jar = {"cq_session": cookie["value"]}
    with httpx.Client(base_url=dash.url, cookies=jar, timeout=10) as http:
        forged = [
            ("/review/" + unit_id + "/decide", {"decision": "approve"}),
            ("/review/" + unit_id + "/decide", {"decision": "approve", "csrf_token": "0" * 64}),
            ("/keys", {"name": "forged", "ttl": "1d"}),
            ("/sign-out", {}),
            ("/admin/users", {"username": "forged", "password": "password-123", "role": "admin"}),
        ]
        for path, form in forged:
            assert http.post(path, data=form).status_code == 403, path
        assert http.get("/review").status_code == 200  # still signed in
    unit = dash.api("GET", f"/api/v1/review/{unit_id}", dash.admin_jwt).json()
    assert unit["status"] == "pending"


def test_sign_out(page: Page, dash: Dash) -> None:
    cookie = next(c for c in page.context.cookies() if c["name"] == "cq_session")
    page.goto("/review")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?notice=signed_out$"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto("/review")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Freview$"))
    # The old session cookie was revoked on the server, not just dropped by the browser.
    with httpx.Client(base_url=dash.url, cookies={"cq_session": cookie["value"]}) as http:
        response = http.get("/review")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?")
    assert "notice=ended" in response.headers["location"]
    page.context.add_cookies([{**cookie}])
    page.goto("/dashboard")
    expect(page.get_by_role("status")).to_have_text("Your session has ended; please sign in again")
    shot(page, "session-ended")


def test_members_see_only_keys(browser: Browser, dash: Dash) -> None:
    context = new_context(browser, dash)
    page = context.new_page()
    sign_in(page, "agent", "agent-password-1")
    expect(page).to_have_url(re.compile(r"/keys$"))
    expect(page.get_by_role("link", name="Review")).to_have_count(0)
    response = page.goto("/review")
    assert response is not None and response.status == 403
    context.close()


def test_api_and_docs_still_served(dash: Dash) -> None:
    assert httpx.get(dash.url + "/api/v1/health").json() == {"status": "ok"}
    assert httpx.get(dash.url + "/docs").status_code == 200
    assert httpx.get(dash.url + "/.well-known/cq-node.json").status_code == 404
    assert httpx.get(dash.url + "/static/app.css").status_code == 200
