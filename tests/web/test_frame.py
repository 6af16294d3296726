"""The frame every dashboard page shares, without HTTP: ``render`` reads nothing (it is handed
the nav's count), the count is read only for reviewers, notices and return paths are safe."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fastapi import Request

from colloquy.domain.models import Role
from colloquy.services.accounts import Session
from colloquy.store.protocol import UserRecord
from colloquy.web.auth import Viewer
from colloquy.web.errors import error_page
from colloquy.web.navigation import pending_reviews, safe_next
from colloquy.web.templating import render, templates

AT = datetime(2026, 1, 1, tzinfo=UTC)
CSRF = "c" * 64


def request(query: str = "") -> Request:
    """A bare request: no app, so no services to read from."""
    scope = {"type": "http", "method": "GET", "path": "/x", "query_string": query.encode()}
    return Request(scope | {"headers": []})


def viewer(role: Role) -> Viewer:
    user = UserRecord(id=1, username="rita", role=role, created_at=AT)
    return Viewer(Session(user=user, token_id="jti", expires_at=AT + timedelta(hours=1)), CSRF)


class Queue:
    """Review services that count how often the pending queue is read."""

    def __init__(self, pending: int) -> None:
        self.pending = pending
        self.reads = 0

    async def queue(self, limit: int, offset: int) -> tuple[list[object], int]:
        assert (limit, offset) == (0, 0)
        self.reads += 1
        return [], self.pending


def test_render_shows_what_it_is_given_and_reads_nothing() -> None:
    me = viewer(Role.REVIEWER)
    page = error_page(request("notice=taken"), 404, "Gone", "No such thing.", me, 7)
    html = page.body.decode()
    assert page.status_code == 404
    assert 'id="pending-count" title="7 pending"' in html
    assert f'name="csrf_token" value="{CSRF}"' in html
    assert '<p class="notice notice-warn" role="status">Someone else already reviewed' in html
    assert "<h1>Gone</h1>" in html


def test_render_without_a_viewer_has_no_nav() -> None:
    page = render(request("notice=signed_out"), "error.html", {"title": "T", "message": "M"})
    html = page.body.decode()
    assert page.status_code == 200
    assert "nav-links" not in html and "csrf_token" not in html
    assert '<p class="notice notice-ok" role="status">You have signed out.</p>' in html


def test_the_environment_is_built_once() -> None:
    assert templates() is templates()
    assert {"ago", "stamp", "band", "iso"} <= set(templates().env.filters)


@pytest.mark.parametrize(
    ("me", "count", "reads"),
    [
        (None, None, 0),
        (viewer(Role.MEMBER), None, 0),
        (viewer(Role.REVIEWER), 3, 1),
        (viewer(Role.ADMIN), 3, 1),
    ],
)
async def test_the_nav_count_is_read_for_reviewers_only(
    me: Viewer | None, count: int | None, reads: int
) -> None:
    queue = Queue(3)
    svc = SimpleNamespace(review=queue)
    assert await pending_reviews(me, svc) == count
    assert queue.reads == reads


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/units?q=x", "/units?q=x"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
    ],
)
def test_safe_next_keeps_to_this_site(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
