"""Signing in and out, and where `/` leads."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colloquy.clock import now
from colloquy.services.accounts import REVIEW_ROLES, USERNAME_MAX_LENGTH, Session
from colloquy.services.errors import InvalidCredentials, Throttled
from colloquy.web.auth import SignInRequired, Viewer, ViewerDep, viewer
from colloquy.web.errors import sign_in_required
from colloquy.web.forms import checked_form, field, storable_form
from colloquy.web.navigation import redirect, safe_next
from colloquy.web.security import (
    CSRF_FIELD,
    NONCE_COOKIE,
    NONCE_TTL,
    SESSION_COOKIE,
    clear_cookie,
    form_keys,
    new_nonce,
    set_cookie,
)
from colloquy.web.templating import render
from colloquy.wiring import ServicesDep, client_host

router = APIRouter(include_in_schema=False)


def _home(me: Viewer) -> str:
    return "/review" if me.reviewer else "/keys"


@router.get("/")
async def root(request: Request, svc: ServicesDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            me = await viewer(request, svc)
        except SignInRequired as exc:
            return await sign_in_required(request, exc)
        return redirect(_home(me))
    return redirect("/sign-in")


async def _sign_in_page(
    request: Request, next_path: str, error: str | None, username: str = "", status: int = 200
) -> HTMLResponse:
    nonce = new_nonce()
    response = render(
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
    if await svc.setup.needed():
        return redirect("/setup")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            me = await viewer(request, svc)
        except SignInRequired:
            pass
        else:
            target = safe_next(next)
            return redirect(_home(me) if target == "/" else target)
    return await _sign_in_page(request, safe_next(next), None)


@router.post("/sign-in")
async def sign_in(request: Request, svc: ServicesDep) -> Response:
    form = await storable_form(request)
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
    # No user's name is longer: one character more still fails, and bounds what is looked up.
    username = field(form, "username").strip()[: USERNAME_MAX_LENGTH + 1]
    try:
        token = await svc.accounts.login(username, field(form, "password"), client_host(request))
        session = await svc.accounts.session(token)
    except InvalidCredentials:
        return await _sign_in_page(
            request, next_path, "Invalid username or password.", username, status=401
        )
    except Throttled as exc:
        page = await _sign_in_page(request, next_path, exc.detail, username, status=429)
        page.headers.update(exc.headers)
        return page
    target = next_path
    if target == "/":
        target = "/review" if session.user.role in REVIEW_ROLES else "/keys"
    return signed_in(request, redirect(target), token, session)


def signed_in(request: Request, response: Response, token: str, session: Session) -> Response:
    """``response`` (a redirect) starting the session of ``token``: its cookie set for the
    session's lifetime, the sign-in form's nonce cookie cleared."""
    lifetime = int((session.expires_at - now()).total_seconds())
    set_cookie(response, request, SESSION_COOKIE, token, lifetime)
    clear_cookie(response, request, NONCE_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    await checked_form(request, me)
    await svc.accounts.logout(me.session)
    response = redirect("/sign-in", notice="signed_out")
    clear_cookie(response, request, SESSION_COOKIE)
    return response


# ---------------------------------------------------------------- review
