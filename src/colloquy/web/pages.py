"""The dashboard's pages: sign-in, review, dashboard, units, API keys and user admin.

Forms post back here (POST-redirect-GET); every POST carries the session's CSRF token.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import FormData

from colloquy import __version__
from colloquy.api.deps import Services, ServicesDep
from colloquy.api.schemas import (
    ApiKeyCreateRequest,
    RejectRequest,
    UserCreateRequest,
    UserUpdateRequest,
)
from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus, Role
from colloquy.domain.normalize import normalize_tags
from colloquy.services.accounts import REVIEW_ROLES, Session
from colloquy.services.errors import (
    AlreadyReviewed,
    InvalidCredentials,
    ServiceError,
    UnitNotFound,
)
from colloquy.services.knowledge import now
from colloquy.services.review import TREND_DAYS
from colloquy.store.protocol import ApiKeyRecord, ReviewItem, UnitFilter
from colloquy.web import charts
from colloquy.web.security import (
    CSRF_FIELD,
    NONCE_COOKIE,
    NONCE_TTL,
    SESSION_COOKIE,
    FormKeys,
    clear_cookie,
    new_nonce,
    session_binding,
    set_cookie,
)

HERE = Path(__file__).parent
ADMIN_ROLES = frozenset({Role.ADMIN})
UNITS_PAGE_SIZE = 25
USERS_PAGE_SIZE = 50
MAX_SKIPPED = 100
STATUSES = frozenset(s.value for s in ReviewStatus)
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

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# ---------------------------------------------------------------- templates


def _asset_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in sorted((HERE / "static").iterdir()):
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


def key_state(key: ApiKeyRecord, at: datetime) -> dict[str, str]:
    """Status and expiry chip of a key, as the reference shows them."""
    if key.revoked_at is not None:
        return {"status": "revoked", "chip": "revoked", "tone": "muted"}
    left = key.expires_at - at
    if left.total_seconds() <= 0:
        return {"status": "expired", "chip": "expired", "tone": "bad"}
    days = left.days
    if days >= 1:
        chip = f"{days}d left"
    elif left.total_seconds() >= 3600:
        chip = f"{int(left.total_seconds() // 3600)}h left"
    else:
        chip = f"{max(int(left.total_seconds() // 60), 1)}m left"
    tone = "bad" if days < 1 else "warn" if days <= 7 else "ok"
    return {"status": "active", "chip": chip, "tone": tone}


env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
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


async def checked_form(request: Request, me: Current) -> FormData:
    form = await request.form()
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
    response = templates.TemplateResponse(request, template, base | context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


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


router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- sign in / out


def _home(me: Current) -> str:
    return "/review" if me.reviewer else "/keys"


@router.get("/")
async def root(request: Request, svc: ServicesDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            me = await current(request, svc)
        except SignInRequired as exc:
            return await sign_in_required(request, exc)
        return redirect(_home(me))
    return redirect("/sign-in")


async def _sign_in_page(
    request: Request, next_path: str, error: str | None, username: str = "", status: int = 200
) -> HTMLResponse:
    nonce = new_nonce()
    response = await render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "nav": "",
            "sign_in_token": form_keys(request).token("sign-in", nonce),
            "notice_in_card": True,
            "next": next_path,
            "error": error,
            "username": username,
        },
        status=status,
    )
    set_cookie(response, request, NONCE_COOKIE, nonce, int(NONCE_TTL.total_seconds()))
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, svc: ServicesDep, next: str = "/") -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            me = await current(request, svc)
        except SignInRequired:
            pass
        else:
            target = safe_next(next)
            return redirect(_home(me) if target == "/" else target)
    return await _sign_in_page(request, safe_next(next), None)


@router.post("/sign-in")
async def sign_in(request: Request, svc: ServicesDep) -> Response:
    form = await request.form()
    nonce = request.cookies.get(NONCE_COOKIE, "")
    next_path = safe_next(field(form, "next"))
    if not form_keys(request).check("sign-in", nonce, field(form, CSRF_FIELD)):
        return await _sign_in_page(
            request,
            next_path,
            "The sign-in form expired. Please try again.",
            field(form, "username"),
            status=403,
        )
    username = field(form, "username").strip()
    try:
        token = await svc.accounts.login(username, field(form, "password"))
        session = await svc.accounts.session(token)
    except InvalidCredentials:
        return await _sign_in_page(
            request, next_path, "Invalid username or password.", username, status=401
        )
    target = next_path
    if target == "/":
        target = "/review" if session.user.role in REVIEW_ROLES else "/keys"
    response = redirect(target)
    lifetime = int((session.expires_at - now()).total_seconds())
    set_cookie(response, request, SESSION_COOKIE, token, lifetime)
    clear_cookie(response, request, NONCE_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, me: CurrentDep, svc: ServicesDep) -> Response:
    await checked_form(request, me)
    await svc.accounts.logout(me.session)
    response = redirect("/sign-in", notice="signed_out")
    clear_cookie(response, request, SESSION_COOKIE)
    return response


# ---------------------------------------------------------------- review


def parse_skipped(raw: str) -> list[str]:
    ids = [part for part in raw.split(",") if UNIT_ID.match(part)]
    return list(dict.fromkeys(ids))[-MAX_SKIPPED:]


@router.get("/review")
async def review(
    request: Request, me: CurrentDep, svc: ServicesDep, skipped: str = ""
) -> HTMLResponse:
    require(me, REVIEW_ROLES)
    skip = parse_skipped(skipped)
    items, total = await svc.review.queue(len(skip) + 1, 0)
    item = next((i for i in items if i.unit.id not in skip), None)
    still_skipped = sum(1 for i in items if i.unit.id in skip)
    return await render(
        request,
        "review.html",
        {
            "title": "Review" if item is None else f"Review: {item.unit.insight.summary[:60]}",
            "nav": "review",
            "item": item,
            "total": total,
            "skipped": ",".join(skip),
            "skip_next": ",".join([*skip, item.unit.id]) if item else "",
            "still_skipped": still_skipped,
        },
        me,
        svc,
    )


@router.post("/review/{unit_id}/decide")
async def decide(unit_id: str, request: Request, me: CurrentDep, svc: ServicesDep) -> Response:
    form = await checked_form(request, me)
    require(me, REVIEW_ROLES)
    decision = field(form, "decision")
    back_to_unit = field(form, "return") == "unit"
    skipped = ",".join(parse_skipped(field(form, "skipped"))) or None
    if decision not in {"approve", "reject"}:
        raise PageError(400, "Unknown decision", "Choose approve or reject.", me)
    note = None
    if decision == "reject":
        try:
            reason = RejectRequest(reason=field(form, "reason")).reason
        except ValidationError as exc:
            raise PageError(422, "Reason too long", validation_message(exc), me) from exc
        note = (reason or "").strip() or None
    status = ReviewStatus.APPROVED if decision == "approve" else ReviewStatus.REJECTED
    try:
        await svc.review.decide(unit_id, status, me.user.username, note)
        notice = "approved" if decision == "approve" else "rejected"
    except AlreadyReviewed:
        notice = "taken"
    except UnitNotFound:
        notice = "gone"
    if back_to_unit and notice != "gone":
        return redirect(f"/units/{unit_id}", notice=notice)
    return redirect("/review", skipped=skipped, notice=notice)


# ---------------------------------------------------------------- dashboard


def units_link(**params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/units?{query}" if query else "/units"


def _bucket_bounds(label: str) -> tuple[str, str | None]:
    low, high = label.split("-")
    return low, None if high == "1.0" else high


@router.get("/dashboard")
async def dashboard(request: Request, me: CurrentDep, svc: ServicesDep) -> HTMLResponse:
    require(me, REVIEW_ROLES)
    stats = await svc.review.stats()
    counts = stats["counts"]
    domains = sorted(stats["domains"].items(), key=lambda kv: (-kv[1], kv[0]))
    domain_bars = [
        charts.Bar(d, c, units_link(status="approved", domain=d)) for d, c in domains[:12]
    ]
    buckets = []
    for label, count in stats["confidence_distribution"].items():
        low, high = _bucket_bounds(label)
        href = units_link(status="approved", confidence_min=low, confidence_max=high)
        buckets.append(charts.Bar(label, count, href))
    days = charts.window(stats["trends"]["daily"], now().date(), TREND_DAYS)
    series = [
        charts.Series("proposed", "Proposed", [int(d["proposed"]) for d in days]),  # type: ignore[call-overload]
        charts.Series("approved", "Approved", [int(d["approved"]) for d in days]),  # type: ignore[call-overload]
        charts.Series("rejected", "Rejected", [int(d["rejected"]) for d in days]),  # type: ignore[call-overload]
    ]
    activity = [
        a | {"when": datetime.fromisoformat(a["timestamp"])} for a in stats["recent_activity"]
    ]
    return await render(
        request,
        "dashboard.html",
        {
            "title": "Dashboard",
            "nav": "dashboard",
            "counts": counts,
            "domain_chart": charts.bar_list(domain_bars, "Approved units per domain", "domains")
            if domain_bars
            else None,
            "more_domains": max(len(domains) - len(domain_bars), 0),
            "histogram": charts.histogram(buckets, "Approved units by confidence", "confidence"),
            "trend": charts.line_chart(
                [str(d["date"]) for d in days],
                series,
                f"Proposals and decisions per day, last {TREND_DAYS} days",
                "trend",
            ),
            "series": series,
            "days": days,
            "activity": activity,
            "trend_days": TREND_DAYS,
        },
        me,
        svc,
    )


# ---------------------------------------------------------------- units


def _confidence(raw: str, name: str, errors: list[str]) -> int | None:
    if not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        errors.append(f"{name} must be a number from 0 to 1")
        return None
    return scoring.to_points(value)


@router.get("/units")
async def units(
    request: Request,
    me: CurrentDep,
    svc: ServicesDep,
    status: str = "",
    domain: str = "",
    confidence_min: str = "",
    confidence_max: str = "",
    created_by: str = "",
    q: str = "",
    cursor: str = "",
) -> HTMLResponse:
    require(me, REVIEW_ROLES)
    errors: list[str] = []
    status_value = status.strip().lower()
    if status_value and status_value not in STATUSES:
        errors.append("status must be pending, approved or rejected")
        status_value = ""
    domains = normalize_tags([domain[:64]])
    filters = UnitFilter(
        status=ReviewStatus(status_value) if status_value else None,
        domain=domains[0] if domains else None,
        confidence_min=_confidence(confidence_min, "Minimum confidence", errors),
        confidence_max=_confidence(confidence_max, "Maximum confidence", errors),
        created_by=created_by.strip()[:256] or None,
        text=q.strip()[:200] or None,
    )
    try:
        page = await svc.review.units(filters, cursor[:512] or None, UNITS_PAGE_SIZE)
    except ServiceError as exc:
        errors.append(exc.detail)
        page = await svc.review.units(filters, None, UNITS_PAGE_SIZE)
        cursor = ""
    shown = {
        "q": q.strip()[:200],
        "status": status_value,
        "domain": domain.strip(),
        "confidence_min": confidence_min.strip(),
        "confidence_max": confidence_max.strip(),
        "created_by": created_by.strip(),
    }
    filtered = any(shown.values())
    described = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in shown.items() if v)
    return await render(
        request,
        "units.html",
        {
            "title": f"Units: {described}" if filtered else "Units",
            "nav": "units",
            "items": page.items,
            "filters": shown,
            "filtered": filtered,
            "errors": errors,
            "next_link": units_link(**shown, cursor=page.next_cursor) if page.next_cursor else None,
            "first_link": units_link(**shown) if cursor else None,
            "statuses": [s.value for s in ReviewStatus],
        },
        me,
        svc,
    )


@router.get("/units/{unit_id}")
async def unit_page(unit_id: str, request: Request, me: CurrentDep, svc: ServicesDep) -> Response:
    require(me, REVIEW_ROLES)
    try:
        item: ReviewItem = await svc.review.get(unit_id)
    except UnitNotFound as exc:
        raise PageError(
            404, "Unit not found", "There is no knowledge unit with that id.", me
        ) from exc
    history = await svc.review.history(unit_id)
    extensions = item.unit.extensions
    return await render(
        request,
        "unit.html",
        {
            "title": f"Unit: {item.unit.insight.summary[:70]}",
            "nav": "units",
            "item": item,
            "unit": item.unit,
            "history": history,
            "extensions": sorted(extensions.items()) if extensions else [],
        },
        me,
        svc,
    )


# ---------------------------------------------------------------- API keys


async def _keys_page(
    request: Request,
    me: Current,
    svc: Services,
    created: Any = None,
    error: str | None = None,
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    at = now()
    keys = await svc.accounts.list_keys(me.user)
    rows = [{"key": k, **key_state(k, at)} for k in keys]
    return await render(
        request,
        "keys.html",
        {
            "title": "API keys",
            "nav": "keys",
            "rows": rows,
            "active": sum(1 for r in rows if r["status"] == "active"),
            "created": created,
            "error": error,
            "entered": entered or {"name": "", "ttl": "90d", "labels": ""},
        },
        me,
        svc,
        status=status,
    )


@router.get("/keys")
async def keys(request: Request, me: CurrentDep, svc: ServicesDep) -> HTMLResponse:
    return await _keys_page(request, me, svc)


@router.post("/keys")
async def create_key(request: Request, me: CurrentDep, svc: ServicesDep) -> HTMLResponse:
    form = await checked_form(request, me)
    entered = {k: field(form, k) for k in ("name", "ttl", "labels")}
    try:
        body = ApiKeyCreateRequest(
            name=entered["name"].strip(),
            ttl=entered["ttl"].strip(),
            labels=[part for part in entered["labels"].split(",") if part.strip()],
        )
        created = await svc.accounts.create_key(me.user, body.name, body.ttl, body.labels)
    except ValidationError as exc:
        return await _keys_page(
            request, me, svc, error=validation_message(exc), entered=entered, status=422
        )
    except ServiceError as exc:
        return await _keys_page(
            request, me, svc, error=exc.detail, entered=entered, status=exc.status_code
        )
    return await _keys_page(request, me, svc, created=created)


async def _own_key(me: Current, svc: Services, key_id: str) -> ApiKeyRecord:
    for key in await svc.accounts.list_keys(me.user):
        if key.id == key_id:
            return key
    raise PageError(404, "Key not found", "You have no API key with that id.", me)


@router.get("/keys/{key_id}/revoke")
async def confirm_revoke(
    key_id: str, request: Request, me: CurrentDep, svc: ServicesDep
) -> HTMLResponse:
    key = await _own_key(me, svc, key_id)
    return await render(
        request,
        "confirm.html",
        {
            "title": f"Revoke API key {key.name}?",
            "nav": "keys",
            "heading": f"Revoke the API key “{key.name}”?",
            "body": f"Agents using {key.prefix}… will be refused at once. This cannot be undone.",
            "action": f"/keys/{key.id}/revoke",
            "button": "Revoke key",
            "cancel": "/keys",
        },
        me,
        svc,
    )


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: str, request: Request, me: CurrentDep, svc: ServicesDep) -> Response:
    await checked_form(request, me)
    try:
        await svc.accounts.revoke_key(me.user, key_id)
    except ServiceError as exc:
        raise PageError(exc.status_code, "Could not revoke", exc.detail, me) from exc
    return redirect("/keys", notice="revoked")


# ---------------------------------------------------------------- admin


async def _users_page(
    request: Request,
    me: Current,
    svc: Services,
    after: str | None = None,
    error: str | None = None,
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    page = await svc.accounts.list_users(after, USERS_PAGE_SIZE)
    return await render(
        request,
        "users.html",
        {
            "title": "Users",
            "nav": "admin",
            "users": page.items,
            "next_link": f"/admin/users?{urlencode({'after': page.next_cursor})}"
            if page.next_cursor
            else None,
            "paged": after is not None,
            "roles": [r.value for r in Role],
            "error": error,
            "entered": entered or {"username": "", "role": Role.REVIEWER.value},
        },
        me,
        svc,
        status=status,
    )


@router.get("/admin/users")
async def users(
    request: Request, me: CurrentDep, svc: ServicesDep, after: str = ""
) -> HTMLResponse:
    require(me, ADMIN_ROLES)
    return await _users_page(request, me, svc, after=after[:64] or None)


@router.post("/admin/users")
async def create_user(request: Request, me: CurrentDep, svc: ServicesDep) -> Response:
    form = await checked_form(request, me)
    require(me, ADMIN_ROLES)
    entered = {"username": field(form, "username"), "role": field(form, "role")}
    try:
        body = UserCreateRequest(
            username=entered["username"], password=field(form, "password"), role=entered["role"]
        )
        await svc.accounts.create_user(body.username, body.password, body.role)
    except ValidationError as exc:
        return await _users_page(
            request, me, svc, error=validation_message(exc), entered=entered, status=422
        )
    except ServiceError as exc:
        return await _users_page(
            request, me, svc, error=exc.detail, entered=entered, status=exc.status_code
        )
    return redirect("/admin/users", notice="user_created")


async def _update_user(
    request: Request,
    me: Current,
    svc: Services,
    username: str,
    role: str | None,
    password: str | None,
) -> Response:
    try:
        body = UserUpdateRequest(role=role, password=password)
        if body.role is not None:
            await svc.accounts.set_role(username, body.role)
        if body.password is not None:
            await svc.accounts.set_password(username, body.password)
    except ValidationError as exc:
        return await _users_page(request, me, svc, error=validation_message(exc), status=422)
    except ServiceError as exc:
        return await _users_page(request, me, svc, error=exc.detail, status=exc.status_code)
    return redirect("/admin/users", notice="role_changed" if role else "password_reset")


@router.post("/admin/users/{username:path}/role")
async def change_role(
    username: str, request: Request, me: CurrentDep, svc: ServicesDep
) -> Response:
    form = await checked_form(request, me)
    require(me, ADMIN_ROLES)
    role = field(form, "role")
    if username == me.user.username and role != Role.ADMIN.value:
        return await _users_page(
            request, me, svc, error="You cannot remove your own admin role here.", status=409
        )
    return await _update_user(request, me, svc, username, role, None)


@router.post("/admin/users/{username:path}/password")
async def reset_password(
    username: str, request: Request, me: CurrentDep, svc: ServicesDep
) -> Response:
    form = await checked_form(request, me)
    require(me, ADMIN_ROLES)
    return await _update_user(request, me, svc, username, None, field(form, "password"))


@router.get("/admin/users/{username:path}/delete")
async def confirm_delete(
    username: str, request: Request, me: CurrentDep, svc: ServicesDep
) -> HTMLResponse:
    require(me, ADMIN_ROLES)
    try:
        user = await svc.accounts.get_user(username)
    except ServiceError as exc:
        raise PageError(exc.status_code, "User not found", exc.detail, me) from exc
    return await render(
        request,
        "confirm.html",
        {
            "title": f"Delete user {user.username}?",
            "nav": "admin",
            "heading": f"Delete the user “{user.username}”?",
            "body": "Their API keys and sessions stop working at once. "
            "Units they proposed or reviewed keep their names. This cannot be undone.",
            "action": f"/admin/users/{quote(user.username)}/delete",
            "button": "Delete user",
            "cancel": "/admin/users",
        },
        me,
        svc,
    )


@router.post("/admin/users/{username:path}/delete")
async def delete_user(
    username: str, request: Request, me: CurrentDep, svc: ServicesDep
) -> Response:
    await checked_form(request, me)
    require(me, ADMIN_ROLES)
    if username == me.user.username:
        return await _users_page(
            request, me, svc, error="You cannot delete your own account here.", status=409
        )
    try:
        await svc.accounts.delete_user(username)
    except ServiceError as exc:
        return await _users_page(request, me, svc, error=exc.detail, status=exc.status_code)
    return redirect("/admin/users", notice="user_deleted")
