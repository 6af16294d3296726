"""What every dashboard page shares: who is asking, CSRF-checked forms, rendering, errors.

Forms post back to their page (POST-redirect-GET); every POST carries the session's CSRF token."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import FormData

from colloquy import __version__
from colloquy.clock import now
from colloquy.domain.bounds import text_problem
from colloquy.domain.models import Role
from colloquy.services.accounts import REVIEW_ROLES, Session
from colloquy.services.errors import ServiceError
from colloquy.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    FormKeys,
    clear_cookie,
    session_binding,
)
from colloquy.wiring import Services, ServicesDep

WEB_DIR = Path(__file__).parent.parent
ADMIN_ROLES = frozenset({Role.ADMIN})
UNITS_PAGE_SIZE = 25
USERS_PAGE_SIZE = 50
MAX_SKIPPED = 100
UNIT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

NOTICES = {
    "approved": "Approved. Here is the next one.",
    "rejected": "Rejected. Here is the next one.",
    "taken": "Someone else already reviewed that unit",
    "gone": "That unit no longer exists.",
    "ended": "Your session has ended; please sign in again",
    "signed_out": "You have signed out.",
    "revoked": "API key revoked.",
    "user_created": "User created.",
    "role_changed": "Role changed.",
    "password_reset": "Password reset.",
    "user_deleted": "User deleted.",
}

# ---------------------------------------------------------------- templates


def _asset_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in sorted((WEB_DIR / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def ago(value: datetime | None) -> str:
    """A short relative time: "just now", "5 minutes ago", "3 days ago"."""
    if value is None:
        return "never"
    seconds = int((now() - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86400 * 365, "year"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            text = f"{n} {unit}{'' if n == 1 else 's'}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def stamp(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def band(confidence: float) -> str:
    if confidence < 0.3:
        return "low"
    if confidence < 0.5:
        return "fair"
    if confidence < 0.7:
        return "good"
    return "high"


env = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["ago"] = ago
env.filters["stamp"] = stamp
env.filters["band"] = band
env.filters["iso"] = lambda v: "" if v is None else v.isoformat()
env.globals["asset_version"] = _asset_version()
env.globals["version"] = __version__
templates = Jinja2Templates(env=env)


# ---------------------------------------------------------------- who is asking


@dataclass(frozen=True)
class Current:
    session: Session
    csrf: str

    @property
    def user(self) -> Any:
        return self.session.user

    @property
    def reviewer(self) -> bool:
        return self.session.user.role in REVIEW_ROLES

    @property
    def admin(self) -> bool:
        return self.session.user.role is Role.ADMIN


class SignInRequired(Exception):
    def __init__(self, next_path: str, ended: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.ended = ended


class PageError(Exception):
    def __init__(
        self, status: int, title: str, message: str, current: Current | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.current = current


def form_keys(request: Request) -> FormKeys:
    return request.app.state.form_keys


def safe_next(value: str | None) -> str:
    """A local path to return to after signing in (never another origin)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in "\r\n\\"):
        return "/"
    return value


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def current(request: Request, svc: ServicesDep) -> Current:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(_here(request), ended=False)
    try:
        session = await svc.accounts.session(token)
    except ServiceError as exc:
        raise SignInRequired(_here(request), ended=True) from exc
    binding = session_binding(session.token_id, token)
    return Current(session=session, csrf=form_keys(request).token("session", binding))


CurrentDep = Annotated[Current, Depends(current)]


def require(me: Current, roles: frozenset[Role]) -> None:
    if me.user.role not in roles:
        needed = "an admin" if roles == ADMIN_ROLES else "a reviewer or admin"
        raise PageError(
            403, "Not allowed", f"This page is for {needed}; you are a {me.user.role}.", me
        )


async def storable_form(request: Request, me: Current | None = None) -> FormData:
    """The submitted form, refused (422) if any field holds text no backend can store."""
    form = await request.form()
    for name, value in form.multi_items():
        problem = text_problem(name) or (text_problem(value) if isinstance(value, str) else None)
        if problem is not None:
            raise PageError(422, "Invalid characters", f"Form fields {problem}.", me)
    return form


async def checked_form(request: Request, me: Current) -> FormData:
    form = await storable_form(request, me)
    presented = form.get(CSRF_FIELD)
    if not isinstance(presented, str) or not hmac.compare_digest(presented, me.csrf):
        raise PageError(
            403,
            "Form check failed",
            "This form has expired or did not come from this site. "
            "Go back, reload the page and try again.",
            me,
        )
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def redirect(path: str, **params: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def form_failure(exc: ValidationError | ServiceError) -> tuple[str, int]:
    """The message and status a form page shows for a rejected submission."""
    if isinstance(exc, ValidationError):
        return validation_message(exc), 422
    return exc.detail, exc.status_code


async def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    me: Current | None = None,
    svc: Services | None = None,
    status: int = 200,
) -> HTMLResponse:
    pending = None
    if me is not None and me.reviewer and svc is not None:
        _, pending = await svc.review.queue(0, 0)
    notice_key = request.query_params.get("notice")
    base = {
        "request": request,
        "me": me,
        "pending": pending,
        "csrf": me.csrf if me else "",
        "notice": NOTICES.get(notice_key or ""),
        "notice_kind": "warn" if notice_key in {"taken", "gone", "ended"} else "ok",
    }
    # Its security headers come from ``colloquy.api.headers``, like every response's.
    return templates.TemplateResponse(request, template, base | context, status_code=status)


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    params = {"next": exc.next_path if exc.next_path != "/" else None}
    if exc.ended:
        params["notice"] = "ended"
    response = redirect("/sign-in", **params)
    if exc.ended:
        clear_cookie(response, request, SESSION_COOKIE)
    return response


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return await render(
        request,
        "error.html",
        {"title": exc.title, "message": exc.message, "nav": ""},
        exc.current,
        request.app.state.services if exc.current else None,
        status=exc.status,
    )
