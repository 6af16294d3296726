"""Moving between pages: where a form sends the browser next (POST-redirect-GET), the notice the
next page shows, safe return paths, and the count in the nav bar (read before rendering, so that
rendering reads nothing)."""

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse

from colloquy.web.auth import Viewer
from colloquy.wiring import Services

NOTICES = {
    "approved": "Approved.",
    "rejected": "Rejected.",
    "duplicate": "Rejected as a duplicate.",
    "no_original": "That unit cannot be the original any more (rejected or gone); nothing was "
    "decided.",
    "taken": "Someone else already reviewed that unit",
    "gone": "That unit no longer exists.",
    "ended": "Your session has ended; please sign in again",
    "signed_out": "You have signed out.",
    "welcome": "You are the admin. Next step: create an API key below for your agents (they "
    "send it as CQ_API_KEY, with CQ_ADDR set to this server's address).",
    "revoked": "API key revoked.",
    "user_created": "User created.",
    "role_changed": "Role changed.",
    "password_reset": "Password reset.",
    "user_deleted": "User deleted.",
    "alias_added": "Alias added. Queries use it at once.",
    "alias_kept": "That alias was stored already.",
    "alias_removed": "Alias removed.",
}
WARNINGS = frozenset({"taken", "gone", "ended", "no_original"})
# After these the review page shows the next card, if there is one, and says so.
DECISIONS = frozenset({"approved", "rejected", "duplicate"})


def redirect(path: str, **params: str | None) -> RedirectResponse:
    """A 303 to ``path``, with the parameters that have a value (``notice=`` among them)."""
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def notice(request: Request, next_card: bool = False) -> tuple[str | None, str]:
    """The text and kind (``ok`` or ``warn``) of the notice that a redirect asked for; after a
    decision, with ``next_card`` (the review page shows one), it points to the next card."""
    key = request.query_params.get("notice") or ""
    text = NOTICES.get(key)
    if text and next_card and key in DECISIONS:
        text += " Here is the next one."
    return text, "warn" if key in WARNINGS else "ok"


def safe_next(value: str | None) -> str:
    """A local path to return to after signing in (never another origin)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in "\r\n\\"):
        return "/"
    return value


async def pending_reviews(me: Viewer | None, svc: Services) -> int | None:
    """The nav bar's count of units awaiting review; ``None`` for a viewer who does not review
    (their nav has no review link) and for a page without a viewer."""
    if me is None or not me.reviewer:
        return None
    _, pending = await svc.review.queue(0, 0)
    return pending
