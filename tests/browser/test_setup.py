"""First start in a browser: a fresh ``colloquy serve --workers 2`` logs its setup link; the
link, opened as printed, creates the first admin, who lands signed in on the API keys page with
the next step; the link then leads nowhere."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import shot
from tests.support.live import LiveServer, live_server

SETUP_LINE = re.compile(r"no users yet — open (http://\S+/setup\?token=[\w-]+) to create")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    """A server with no users (two workers: the link must work whichever one answers), and
    its log."""
    data_dir = tmp_path_factory.mktemp("setup-server")
    with live_server(data_dir, workers=2, settings={"CQ_SEMANTIC": "off"}) as server:
        port = server.base_url.rsplit(":", 1)[1]
        yield server, data_dir / f"server-{port}.log"


def test_the_logged_link_creates_the_first_admin(
    browser: Browser, fresh: tuple[LiveServer, Path]
) -> None:
    server, log = fresh
    found = SETUP_LINE.search(log.read_text())
    assert found is not None, log.read_text()[-2000:]
    link = found.group(1)
    assert link.startswith(server.base_url + "/setup?token=")

    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/review")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_text("open the setup link that the server printed")).to_be_visible()

    page.goto(link)
    expect(page).to_have_title("Set up · colloquy")
    page.get_by_label("Admin username").fill("root")
    page.get_by_label("Password").fill("first-admin-password")
    shot(page, "setup")
    page.get_by_role("button", name="Create admin and sign in").click()

    expect(page).to_have_url(re.compile(r"/keys\?notice=welcome$"))
    expect(page.get_by_role("status")).to_contain_text("Next step: create an API key below")
    expect(page.locator(".nav-user .who")).to_contain_text("root")
    expect(page.locator(".nav-user .role")).to_have_text("admin")
    shot(page, "setup-done")

    page.goto(link)
    expect(page.get_by_role("heading", name="Setup is done")).to_be_visible()
    # The command line sees the same admin.
    listed = [line.split() for line in server.cli("user", "list").splitlines()]
    assert any(words[:1] == ["root"] and "admin" in words for words in listed), listed
    context.close()
