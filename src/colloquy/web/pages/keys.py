"""The signed-in user's API keys: create (token shown once), list, revoke."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from colloquy.api.schemas import ApiKeyCreateRequest
from colloquy.clock import now
from colloquy.services.errors import ServiceError
from colloquy.store.protocol import ApiKeyRecord
from colloquy.web.pages.common import (
    Current,
    CurrentDep,
    PageError,
    checked_form,
    field,
    form_failure,
    key_state,
    redirect,
    render,
)
from colloquy.wiring import Services, ServicesDep

router = APIRouter(include_in_schema=False)


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
    except (ValidationError, ServiceError) as exc:
        error, status = form_failure(exc)
        return await _keys_page(request, me, svc, error=error, entered=entered, status=status)
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
