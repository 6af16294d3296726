"""Duplicates end to end: two near-identical proposals, the review card's "Possibly the same
as", a key that rejects the card as a duplicate, and the unit's history saying so."""

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Dash, shot
from tests.browser.test_dashboard import show_card


def propose(dash: Dash, summary: str, detail: str, action: str) -> str:
    body = {
        "domains": ["python", "asyncio", f"d-{uuid.uuid4().hex[:8]}"],
        "insight": {"summary": summary, "detail": detail, "action": action},
        "context": {"languages": ["python"], "frameworks": [], "pattern": ""},
    }
    response = dash.api("POST", "/api/v1/knowledge", dash.agent_key, json=body)
    assert response.status_code == 201, response.text
    assert "duplicate_of" not in response.json() and "neighbours" not in response.json()
    return response.json()["id"]


def test_reject_the_card_as_a_duplicate_with_one_key(page: Page, dash: Dash) -> None:
    original = propose(
        dash,
        "Calling time.sleep inside an async def freezes the whole asyncio event loop",
        "asyncio is cooperative: a coroutine yields only at await points, so a synchronous "
        "sleep stalls every other task on the loop.",
        "Await asyncio.sleep instead, or push the blocking call to asyncio.to_thread.",
    )
    copy = propose(
        dash,
        "A blocking time.sleep in an async def stalls the asyncio event loop for every task",
        "The event loop runs one coroutine at a time and switches only at await, so a "
        "synchronous sleep blocks all other tasks.",
        "Use await asyncio.sleep, or run blocking work in asyncio.to_thread.",
    )
    show_card(page, copy)
    neighbours = page.locator("#neighbours")
    expect(neighbours).to_contain_text("Possibly the same as")
    expect(neighbours).to_contain_text("Calling time.sleep inside an async def freezes")
    expect(page.locator(".hint")).to_contain_text("reject as a duplicate of it")
    choices = neighbours.locator("input[name=duplicate_of]")
    values = [choices.nth(i).get_attribute("value") for i in range(choices.count())]
    assert original in values
    shot(page, "review-duplicates")

    page.keyboard.press(str(values.index(original) + 1))
    expect(choices.nth(values.index(original))).to_be_checked()
    with page.expect_navigation():
        page.keyboard.press("d")
    expect(page.get_by_role("status")).to_contain_text("Rejected as a duplicate")

    page.goto(f"/units/{copy}")
    history = page.locator("#history")
    rejected = history.locator("tr", has_text="rejected")
    expect(rejected).to_contain_text("admin")
    expect(rejected).to_contain_text(f"as a duplicate of {original}")
    expect(page.locator("#review-line")).to_contain_text(f"as a duplicate of {original}")
    shot(page, "unit-duplicate-history")
    rejected.get_by_role("link", name=original).click()
    expect(page.locator("#unit-summary")).to_contain_text("Calling time.sleep")
