"""The audit trail of admin actions, for admins."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from colloquy.services.errors import ServiceError
from colloquy.web.auth import ADMIN_ROLES, ViewerDep, require
from colloquy.web.errors import PageError
from colloquy.web.navigation import pending_reviews
from colloquy.web.templating import render
from colloquy.wiring import ServicesDep

router = APIRouter(include_in_schema=False)

AUDIT_PAGE_SIZE = 50
ACTIONS = {
    "user_created": "User created",
    "role_changed": "Role changed",
    "password_reset": "Password reset",
    "user_deleted": "User deleted",
    "key_revoked": "API key revoked",
    "alias_added": "Alias added",
    "alias_removed": "Alias removed",
}


@router.get("/admin/audit")
async def audit(
    request: Request, me: ViewerDep, svc: ServicesDep, cursor: str = ""
) -> HTMLResponse:
    require(me, ADMIN_ROLES)
    try:
        page = await svc.accounts.audit(cursor[:64] or None, AUDIT_PAGE_SIZE)
    except ServiceError as exc:
        raise PageError(exc.status_code, "Bad page link", exc.detail, me) from exc
    next_link = None
    if page.next_cursor:
        next_link = f"/admin/audit?{urlencode({'cursor': page.next_cursor})}"
    return render(
        request,
        "audit.html",
        {
            "title": "Audit trail",
            "nav": "audit",
            "entries": page.items,
            "actions": ACTIONS,
            "next_link": next_link,
            "paged": bool(cursor),
        },
        me,
        await pending_reviews(me, svc),
    )
