"""Every main page on real content, at a phone's width and a desktop's: long unbroken text, long
URLs and names, extension values with quotes and tags, many keys and users. Each page is
screenshotted (test-output/screenshots/layout-*) and must be no wider than its viewport."""

import random
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Dash, new_context, shot, sign_in

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
TOKEN = "unbroken" * 75  # 600 characters without a break opportunity
URL = "https://example.org/" + "/".join(["a-rather-long-path-segment"] * 7)[:180]
EXTENSIONS = {
    "team:note": "it's <fine>",
    "team:quoted": 'say "hi"',
    "team:nested": {"html": "<b>bold</b>"},
}


def letters(n: int) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=n))


@dataclass(frozen=True)
class Seeded:
    long_unit: str
    flagged_unit: str
    key_id: str
    review_path: str


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def seeded(dash: Dash) -> Seeded:
    """Content at the limits of what the API takes, as an admin and the agent see it."""
    domains = [f"{letters(6)}-{'long-domain-name-' * 4}"[:64] for _ in range(3)]
    body = {
        "domains": domains,
        "insight": {
            "summary": f"Long content {uuid.uuid4().hex[:6]} {TOKEN[:200]}",
            "detail": f"A token: {TOKEN}\nA link: {URL}",
            "action": f"Read {URL} before you retry {TOKEN[:300]}",
        },
        "context": {"languages": ["python"], "frameworks": ["fastapi"], "pattern": TOKEN[:200]},
        "extensions": {**EXTENSIONS, "team:long": TOKEN},
    }
    long_unit = ok(dash.api("POST", "/api/v1/knowledge", dash.agent_key, json=body))["id"]
    flagged = ok(dash.api("POST", "/api/v1/knowledge", dash.agent_key, json=body))["id"]
    ok(dash.api("POST", f"/api/v1/review/{flagged}/approve", dash.admin_jwt), 200)
    flag = {"reason": "incorrect", "detail": TOKEN[:1000]}
    ok(dash.api("POST", f"/api/v1/knowledge/{flagged}/flags", dash.agent_key, json=flag))
    rejected = ok(dash.api("POST", "/api/v1/knowledge", dash.agent_key, json=body))["id"]
    reason = {"reason": f"See {URL} {TOKEN[:500]}"}
    ok(dash.api("POST", f"/api/v1/review/{rejected}/reject", dash.admin_jwt, json=reason), 200)

    key_id = ""
    for _ in range(10):
        key = {"name": letters(64), "ttl": "30d", "labels": [letters(64), letters(64)]}
        key_id = ok(dash.api("POST", "/api/v1/users/me/api-keys", dash.admin_jwt, json=key))["id"]
    for _ in range(8):
        user = {"username": letters(64), "password": "long-user-password-1", "role": "reviewer"}
        ok(dash.api("POST", "/api/v1/users", dash.admin_jwt, json=user))
    for _ in range(3):
        alias = f"/api/v1/admin/aliases/{letters(60)}"
        ok(dash.api("PUT", alias, dash.admin_jwt, json={"canonical": letters(60)}))

    # The review card shows the long unit: every older pending unit counts as skipped.
    queue = ok(dash.api("GET", "/api/v1/review/queue", dash.admin_jwt, params={"limit": 100}), 200)
    pending = [i["knowledge_unit"]["id"] for i in queue["items"]]
    older = pending[: pending.index(long_unit)]
    return Seeded(long_unit, flagged, key_id, f"/review?skipped={','.join(older)}")


def pages(seeded: Seeded) -> list[tuple[str, str]]:
    """Every page of the nav bar, a unit's page (flagged, long), confirmations and errors."""
    return [
        ("review", seeded.review_path),
        ("dashboard", "/dashboard"),
        ("units", "/units"),
        ("unit", f"/units/{seeded.long_unit}"),
        ("unit-flagged", f"/units/{seeded.flagged_unit}"),
        ("keys", "/keys"),
        ("keys-revoke", f"/keys/{seeded.key_id}/revoke"),
        ("users", "/admin/users"),
        ("aliases", "/admin/aliases"),
        ("audit", "/admin/audit"),
        ("not-found", "/units/no-such-unit"),
    ]


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def outside(page: Page, selector: str) -> list[str]:
    """The elements matching ``selector`` that end beyond the viewport's right edge."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map(e => e.textContent.trim())""",
        selector,
    )


@pytest.fixture(params=list(VIEWPORTS))
def sized(request: pytest.FixtureRequest, browser: Browser, dash: Dash) -> Iterator[Page]:
    context = new_context(browser, dash, viewport=VIEWPORTS[request.param])
    yield context.new_page()
    context.close()


def newest_day_hidden(page: Page) -> bool:
    """Whether the trend chart's last date (today's week) lies outside its scroller: a phone
    scrolls the chart sideways, and it should open on the newest days."""
    newest = page.locator("#trend-chart svg text.tick").last.bounding_box()
    frame = page.locator("#trend-chart").bounding_box()
    assert newest is not None and frame is not None
    return newest["x"] < frame["x"] or newest["x"] + newest["width"] > frame["x"] + frame["width"]


def test_every_page_fits_its_viewport(sized: Page, seeded: Seeded) -> None:
    """No page is wider than the viewport; nav links and each key's Revoke are in view."""
    page = sized
    width = page.viewport_size["width"]  # type: ignore[index]
    tag = "phone" if width < 720 else "desktop"
    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        shot(page, f"layout-{tag}-{name}")
        found = problems.setdefault(name, [])
        if page_width(page) > width:
            found.append(f"{page_width(page)} px wide")
        found += [f"{text!r} cut off" for text in outside(page, ".nav-links a, #key-list a")]
        if name == "dashboard" and newest_day_hidden(page):
            found.append("the trend opens on its oldest days")
        if not found:
            del problems[name]

    page.goto("/sign-in")
    check("sign-in")
    sign_in(page)
    for name, path in pages(seeded):
        page.goto(path)
        check(name)
    page.goto("/keys")
    page.get_by_label("Name").fill(letters(64))
    page.get_by_label("Lifetime").fill("30d")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-token")).to_be_visible()
    check("keys-created")
    assert problems == {}, f"at {width} px"
