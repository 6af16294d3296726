"""Rendering a page: the Jinja environment (built once, on first use), its filters, and
``render``, which reads nothing: whatever a page shows is fetched before and passed in."""

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from colloquy import __version__
from colloquy.clock import now
from colloquy.web.auth import Viewer
from colloquy.web.navigation import notice
from colloquy.web.wording import as_json, plural

WEB_DIR = Path(__file__).parent


def ago(value: datetime | None) -> str:
    """A short relative time: "just now", "5 minutes ago", "3 days ago"."""
    if value is None:
        return "never"
    seconds = int((now() - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86400 * 365, "year"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            text = plural(seconds // size, unit)
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def stamp(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def band(confidence: float) -> str:
    if confidence < 0.3:
        return "low"
    if confidence < 0.5:
        return "fair"
    if confidence < 0.7:
        return "good"
    return "high"


def _asset_version() -> str:
    """Changes with the release and with any static file, so browsers fetch assets anew."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted((WEB_DIR / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@cache
def templates() -> Jinja2Templates:
    """The dashboard's templates, loaded and configured once per process."""
    env = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ago=ago, stamp=stamp, band=band, iso=iso, plural=plural, as_json=as_json)
    env.globals.update(asset_version=_asset_version(), version=__version__)
    return Jinja2Templates(env=env)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    me: Viewer | None = None,
    pending: int | None = None,
    status: int = 200,
    next_card: bool = False,
) -> HTMLResponse:
    """``template`` filled with ``context`` and what every page's frame shows: the viewer, the
    nav's count of pending units (see ``navigation.pending_reviews``) and the notice (which
    names the next card when ``next_card``: the review page shows one)."""
    text, kind = notice(request, next_card)
    base = {
        "request": request,
        "me": me,
        "pending": pending,
        "csrf": me.csrf if me else "",
        "notice": text,
        "notice_kind": kind,
    }
    # Its security headers come from ``colloquy.api.headers``, like every response's.
    return templates().TemplateResponse(request, template, base | context, status_code=status)
