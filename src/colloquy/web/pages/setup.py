"""The one-time setup page: while no user exists, the holder of a setup token (printed in the
server's log at start, ``services.setup``) creates the first admin here and is signed in.

Every dashboard page sends the browser here while no user exists (``errors.sign_in_required``,
and the sign-in page itself); once one does, the page answers 404.
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colloquy.security import passwords
from colloquy.services.accounts import PASSWORD_MIN_LENGTH, USERNAME_MAX_LENGTH
from colloquy.services.errors import (
    InvalidInput,
    InvalidSetupToken,
    ServiceError,
    SetupDone,
    Throttled,
)
from colloquy.web.errors import PageError
from colloquy.web.forms import field, storable_form
from colloquy.web.navigation import redirect
from colloquy.web.pages.session import signed_in
from colloquy.web.security import (
    CSRF_FIELD,
    NONCE_COOKIE,
    NONCE_TTL,
    form_keys,
    new_nonce,
    set_cookie,
)
from colloquy.web.templating import render
from colloquy.wiring import ServicesDep, client_host

router = APIRouter(include_in_schema=False)

_DONE = PageError(404, "Setup is done", "An account exists already: sign in instead.")


def _page(
    request: Request,
    setup_token: str | None,
    error: str | None = None,
    username: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The page: the form when ``setup_token`` is a valid one (its CSRF token bound to a nonce
    cookie, as on the sign-in page), else how to find the setup link."""
    nonce = new_nonce()
    response = render(
        request,
        "setup.html",
        {
            "title": "Set up",
            "nav": "",
            "setup_token": setup_token,
            "form_token": form_keys(request).token("setup", nonce),
            "error": error,
            "username": username,
            "username_max": USERNAME_MAX_LENGTH,
            "password_min": PASSWORD_MIN_LENGTH,
            "password_max": passwords.MAX_PASSWORD_LENGTH,
        },
        status=status,
    )
    if setup_token:
        set_cookie(response, request, NONCE_COOKIE, nonce, int(NONCE_TTL.total_seconds()))
    return response


def _refused(request: Request, exc: InvalidSetupToken | Throttled) -> HTMLResponse:
    page = _page(request, None, exc.detail, status=exc.status_code)
    page.headers.update(exc.headers)
    return page


@router.get("/setup")
async def setup_form(request: Request, svc: ServicesDep, token: str = "") -> Response:
    if not await svc.setup.needed():
        raise _DONE
    if not token:
        return _page(request, None)
    try:
        await svc.setup.check(token, client_host(request))
    except SetupDone:
        raise _DONE from None
    except (InvalidSetupToken, Throttled) as exc:
        return _refused(request, exc)
    return _page(request, token)


@router.post("/setup")
async def setup(request: Request, svc: ServicesDep) -> Response:
    form = await storable_form(request)
    token = field(form, "token")
    username = field(form, "username").strip()
    password = field(form, "password")
    address = client_host(request)
    nonce = request.cookies.get(NONCE_COOKIE, "")
    if not form_keys(request).check("setup", nonce, field(form, CSRF_FIELD)):
        if not await svc.setup.needed():
            raise _DONE
        error = "The setup form expired. Please try again."
        return _page(request, token or None, error, username, status=403)
    try:
        await svc.setup.create_admin(token, username, password, address)
    except SetupDone:
        raise _DONE from None
    except (InvalidSetupToken, Throttled) as exc:
        return _refused(request, exc)
    except InvalidInput as exc:
        return _page(request, token, exc.detail, username, status=exc.status_code)
    # Signed in the ordinary way, so the session is like any other (and throttled the same:
    # an address that must wait signs in later, as the admin it now is).
    try:
        session_token = await svc.accounts.login(username, password, address)
        session = await svc.accounts.session(session_token)
    except ServiceError:
        return redirect("/sign-in", next="/keys")
    return signed_in(request, redirect("/keys", notice="welcome"), session_token, session)
