"""Browser tests: Debian's Chromium, driven by Playwright, against a live ``colloquy serve``."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.live import LiveServer, live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ADMIN = ("admin", "admin-password-1")
AGENT = ("agent", "agent-password-1")


@dataclass(frozen=True)
class Dash:
    server: LiveServer
    admin_jwt: str
    agent_key: str

    @property
    def url(self) -> str:
        return self.server.base_url

    def api(self, method: str, path: str, token: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]

    def propose(self, domain: str, summary: str, key: str | None = None) -> httpx.Response:
        body = {
            "domains": [domain, "browser-tests"],
            "insight": {
                "summary": summary,
                "detail": f"Detail of {summary}. It explains the why in a sentence or two.",
                "action": "Do the sensible thing, then check it twice.",
            },
            "context": {"languages": ["python"], "frameworks": ["fastapi"], "pattern": "api"},
        }
        return self.api("POST", "/api/v1/knowledge", key or self.agent_key, json=body)

    def propose_ok(self, summary: str) -> tuple[str, str]:
        domain = f"d-{uuid.uuid4().hex[:8]}"
        response = self.propose(domain, summary)
        assert response.status_code == 201, response.text
        return domain, response.json()["id"]


def login_jwt(base_url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture(scope="session")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    data_dir = tmp_path_factory.mktemp("browser-server")
    with live_server(data_dir) as server:
        server.cli(
            "user", "create", ADMIN[0], "--role", "admin", "--password-stdin", stdin=ADMIN[1]
        )
        server.cli(
            "user", "create", AGENT[0], "--role", "member", "--password-stdin", stdin=AGENT[1]
        )
        agent_jwt = login_jwt(server.base_url, *AGENT)
        created = httpx.post(
            f"{server.base_url}/api/v1/users/me/api-keys",
            headers={"Authorization": f"Bearer {agent_jwt}"},
            json={"name": "agent", "ttl": "1h"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        yield Dash(
            server=server,
            admin_jwt=login_jwt(server.base_url, *ADMIN),
            agent_key=created.json()["token"],
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API runs an event loop in this thread until it stops,
    and the async tests that follow need the thread's loop free."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/ensure-chromium.sh (make test does)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def new_context(browser: Browser, dash: Dash, **kwargs: object) -> BrowserContext:
    context = browser.new_context(base_url=dash.url, **kwargs)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    return context


def sign_in(page: Page, username: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


@pytest.fixture
def page(browser: Browser, dash: Dash) -> Iterator[Page]:
    """A fresh browser context, signed in as the admin."""
    context = new_context(browser, dash, viewport={"width": 1280, "height": 900})
    signed_in = context.new_page()
    sign_in(signed_in)
    yield signed_in
    context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
