"""The signed-in user's API keys: create (token shown once), list, revoke."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from colloquy.services.accounts import CreatedKey
from colloquy.services.errors import ServiceError
from colloquy.services.inputs import ApiKeyCreateRequest
from colloquy.services.views import KeyState, KeyView
from colloquy.store.protocol import ApiKeyRecord
from colloquy.web.auth import Viewer, ViewerDep
from colloquy.web.connect import connect_snippets, mcp_url, server_base_url
from colloquy.web.errors import PageError
from colloquy.web.forms import checked_form, field, form_failure
from colloquy.web.navigation import pending_reviews, redirect
from colloquy.web.templating import render
from colloquy.wiring import Services, ServicesDep

router = APIRouter(include_in_schema=False)


def time_left(left: timedelta) -> str:
    """``left`` to the nearest day, hour or minute, in the largest unit it reaches: a key made a
    moment ago for 30 days has "30d left" (not 29d and 23 hours, cut to "29d")."""
    seconds = left.total_seconds()

    def nearest(size: int) -> int:
        return int(seconds / size + 0.5)

    if nearest(3600) >= 24:
        return f"{nearest(86400)}d left"
    if nearest(60) >= 60:
        return f"{nearest(3600)}h left"
    return f"{max(nearest(60), 1)}m left"


def expiry_chip(view: KeyView) -> tuple[str, str]:
    """The text and tone of a key's expiry chip, as the reference shows them."""
    if view.state is not KeyState.ACTIVE:
        return view.state.value, "muted" if view.state is KeyState.REVOKED else "bad"
    days = view.remaining.days
    return time_left(view.remaining), "bad" if days < 1 else "warn" if days <= 7 else "ok"


async def _keys_page(
    request: Request,
    me: Viewer,
    svc: Services,
    created: CreatedKey | None = None,
    error: str | None = None,
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows = []
    for view in await svc.accounts.list_keys(me.user):
        chip, tone = expiry_chip(view)
        rows.append({"key": view.record, "status": view.state, "chip": chip, "tone": tone})
    base_url = server_base_url(request)
    return render(
        request,
        "keys.html",
        {
            "title": "API keys",
            "nav": "keys",
            "rows": rows,
            "active": sum(1 for r in rows if r["status"] is KeyState.ACTIVE),
            "created": created,
            "mcp_url": mcp_url(base_url),
            "snippets": connect_snippets(base_url, created.token) if created else [],
            "error": error,
            "entered": entered or {"name": "", "ttl": "90d", "labels": ""},
        },
        me,
        await pending_reviews(me, svc),
        status=status,
    )


@router.get("/keys")
async def keys(request: Request, me: ViewerDep, svc: ServicesDep) -> HTMLResponse:
    return await _keys_page(request, me, svc)


@router.post("/keys")
async def create_key(request: Request, me: ViewerDep, svc: ServicesDep) -> HTMLResponse:
    form = await checked_form(request, me)
    entered = {k: field(form, k) for k in ("name", "ttl", "labels")}
    try:
        body = ApiKeyCreateRequest(
            name=entered["name"].strip(),
            ttl=entered["ttl"].strip(),
            labels=[part for part in entered["labels"].split(",") if part.strip()],
        )
        created = await svc.accounts.create_key(me.user, body.name, body.ttl, body.labels)
    except (ValidationError, ServiceError) as exc:
        error, status = form_failure(exc)
        return await _keys_page(request, me, svc, error=error, entered=entered, status=status)
    return await _keys_page(request, me, svc, created=created)


async def _own_key(me: Viewer, svc: Services, key_id: str) -> ApiKeyRecord:
    for view in await svc.accounts.list_keys(me.user):
        if view.record.id == key_id:
            return view.record
    raise PageError(404, "Key not found", "You have no API key with that id.", me)


@router.get("/keys/{key_id}/revoke")
async def confirm_revoke(
    key_id: str, request: Request, me: ViewerDep, svc: ServicesDep
) -> HTMLResponse:
    key = await _own_key(me, svc, key_id)
    return render(
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
        await pending_reviews(me, svc),
    )


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: str, request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    await checked_form(request, me)
    try:
        await svc.accounts.revoke_key(me.user, key_id)
    except ServiceError as exc:
        raise PageError(exc.status_code, "Could not revoke", exc.detail, me) from exc
    return redirect("/keys", notice="revoked")


# ---------------------------------------------------------------- admin
