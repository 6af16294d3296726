"""The API docs render in a browser with no network beyond the server, under their CSP."""

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route, expect

from tests.browser.conftest import Dash, new_context

# ReDoc's "API docs by Redocly" credit always asks its CDN for a logo; the CSP blocks it (and
# ReDoc then hides the image), which is the CSP doing its job, not a fault of the page.
REDOC_CREDIT_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/docs", "#operations-knowledge-query_api_v1_knowledge_get"),
        ("/redoc", 'h2:has-text("Ranked query over approved units")'),
    ],
)
def test_docs_render_offline(browser: Browser, dash: Dash, path: str, operation: str) -> None:
    context = new_context(browser, dash)
    elsewhere: list[str] = []
    problems: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(dash.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        failed = message.type == "error" or "Content Security Policy" in message.text
        if failed and REDOC_CREDIT_LOGO not in message.text:
            problems.append(message.text)

    context.route("**/*", offline)
    page = context.new_page()
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(path)
    expect(page.locator(operation).first).to_be_visible(timeout=20_000)
    assert elsewhere == []
    assert problems == [], problems
    context.close()
