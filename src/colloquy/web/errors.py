"""What the dashboard answers when a page cannot be shown: a redirect to sign in, or an error
page (with the viewer's nav when someone is signed in)."""

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from colloquy.web.auth import NotAllowed, SignInRequired, Viewer
from colloquy.web.navigation import pending_reviews, redirect
from colloquy.web.security import SESSION_COOKIE, clear_cookie
from colloquy.web.templating import render
from colloquy.wiring import services


class PageError(Exception):
    """Shown as an error page with ``status``; ``viewer`` is whoever was signed in."""

    def __init__(self, status: int, title: str, message: str, viewer: Viewer | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.viewer = viewer


def error_page(
    request: Request,
    status: int,
    title: str,
    message: str,
    me: Viewer | None = None,
    pending: int | None = None,
) -> HTMLResponse:
    return render(
        request, "error.html", {"title": title, "message": message, "nav": ""}, me, pending, status
    )


async def sign_in_required(request: Request, exc: Exception) -> Response:
    """To the sign-in page, or to the setup page while there is nobody to sign in."""
    assert isinstance(exc, SignInRequired)
    if await services(request).setup.needed():
        return redirect("/setup")
    params = {"next": exc.next_path if exc.next_path != "/" else None}
    if exc.ended:
        params["notice"] = "ended"
    response = redirect("/sign-in", **params)
    if exc.ended:
        clear_cookie(response, request, SESSION_COOKIE)
    return response


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    pending = await pending_reviews(exc.viewer, services(request))
    return error_page(request, exc.status, exc.title, exc.message, exc.viewer, pending)


async def not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotAllowed)
    return await page_error(request, PageError(403, "Not allowed", exc.message, exc.viewer))
