"""The Keys page's "Connect an agent" block: beside a new token, the server's MCP URL and
configurations for Claude Code, Cursor, VS Code and the cq clients that carry that token."""

import json
import shlex
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Dash, new_context, shot, sign_in


def create_key(page: Page) -> str:
    page.goto("/keys")
    page.get_by_label("Name").fill(f"connect-{uuid.uuid4().hex[:6]}")
    page.get_by_label("Lifetime").fill("1h")
    page.get_by_role("button", name="Create key").click()
    token = page.locator("#token-value").input_value()
    assert token.startswith("cqa.")
    return token


def snippet(page: Page, slug: str) -> str:
    return page.locator(f"#snippet-{slug}").input_value()


def test_new_key_shows_the_mcp_url_and_configs_with_its_token(page: Page, dash: Dash) -> None:
    token = create_key(page)
    mcp = f"{dash.url}/mcp"
    expect(page.locator("#mcp-url")).to_have_text(mcp)
    shot(page, "keys-connect")

    assert shlex.split(snippet(page, "claude-code")) == [
        "claude",
        "mcp",
        "add",
        "--transport",
        "http",
        "colloquy",
        mcp,
        "--header",
        f"Authorization: Bearer {token}",
    ]
    headers = {"Authorization": f"Bearer {token}"}
    assert json.loads(snippet(page, "cursor")) == {
        "mcpServers": {"colloquy": {"url": mcp, "headers": headers}}
    }
    assert json.loads(snippet(page, "vscode")) == {
        "servers": {"colloquy": {"type": "http", "url": mcp, "headers": headers}}
    }
    assert shlex.split(snippet(page, "cq-env")) == [
        "export",
        f"CQ_ADDR={dash.url}",
        f"CQ_API_KEY={token}",
    ]

    # The token the page shows is the one that works: the cq clients' address and key propose.
    proposed = dash.propose("connect-snippets", "Proposed with the snippet's key", key=token)
    assert proposed.status_code == 201, proposed.text

    page.goto("/keys")
    expect(page.locator("#mcp-url")).to_have_count(0)  # shown with the new token only


def test_copy_button_puts_the_config_on_the_clipboard(browser: Browser, dash: Dash) -> None:
    context = new_context(browser, dash, viewport={"width": 390, "height": 844})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=dash.url)
    page = context.new_page()
    sign_in(page)
    token = create_key(page)
    page.get_by_role("button", name="Copy the VS Code configuration").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == snippet(page, "vscode")
    assert token in copied
    # On a phone the snippets wrap inside the panel instead of widening it.
    for element in page.locator("#new-token, #new-token textarea").all():
        box = element.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
    shot(page, "keys-connect-phone")
    context.close()
