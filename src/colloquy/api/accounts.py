"""Sign-in, the caller's own account and API keys, and (for admins) user management."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from colloquy.api.deps import Admin, SessionDep
from colloquy.api.schemas import LoginRequest
from colloquy.clock import iso
from colloquy.services.inputs import ApiKeyCreateRequest, UserCreateRequest, UserUpdateRequest
from colloquy.services.views import KeyState, KeyView
from colloquy.store.protocol import UserRecord
from colloquy.wiring import ServicesDep, client_host

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def key_body(view: KeyView) -> dict[str, Any]:
    """``ApiKeyPublic``: the stored fields plus the derived expiry flags."""
    key = view.record
    return {
        "id": key.id,
        "name": key.name,
        "labels": key.labels,
        "prefix": key.prefix,
        "ttl": key.ttl,
        "expires_at": iso(key.expires_at),
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
        "is_expired": view.expired,
        "is_active": view.state is KeyState.ACTIVE,
    }


def user_body(user: UserRecord) -> dict[str, str | None]:
    return {"username": user.username, "created_at": iso(user.created_at), "role": user.role}


@router.post(
    "/auth/login",
    summary="Exchange a username and password for a session token",
    description="Repeated failures (per username and per client address) are answered 429 "
    "with Retry-After for a while, growing with each failure.",
)
async def login(body: LoginRequest, request: Request, svc: ServicesDep) -> JSONResponse:
    token = await svc.accounts.login(body.username, body.password, client_host(request))
    return JSONResponse({"token": token, "username": body.username})


@router.post("/auth/logout", summary="Revoke the session token used for this request")
async def logout(current: SessionDep, svc: ServicesDep) -> JSONResponse:
    await svc.accounts.logout(current)
    return JSONResponse({"message": "Signed out."})


@router.get("/users/me", summary="The signed-in user")
async def me(current: SessionDep) -> JSONResponse:
    return JSONResponse(user_body(current.user))


@router.post("/users/me/api-keys", status_code=201, summary="Create an API key (shown once)")
async def create_key(
    body: ApiKeyCreateRequest, current: SessionDep, svc: ServicesDep
) -> JSONResponse:
    created = await svc.accounts.create_key(current.user, body.name, body.ttl, body.labels)
    return JSONResponse(key_body(created.key) | {"token": created.token}, status_code=201)


@router.get("/users/me/api-keys", summary="Your API keys, newest first")
async def list_keys(current: SessionDep, svc: ServicesDep) -> JSONResponse:
    keys = await svc.accounts.list_keys(current.user)
    return JSONResponse({"data": [key_body(k) for k in keys]})


@router.post("/users/me/api-keys/{key_id}/revoke", summary="Revoke one of your API keys")
async def revoke_key(key_id: str, current: SessionDep, svc: ServicesDep) -> JSONResponse:
    await svc.accounts.revoke_key(current.user, key_id)
    return JSONResponse({"message": "API key revoked."})


@router.get("/users", summary="All users, by name (admins)")
async def list_users(
    user: Admin,
    svc: ServicesDep,
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    page = await svc.accounts.list_users(after, limit)
    return JSONResponse(
        {"data": [user_body(u) for u in page.items], "next_cursor": page.next_cursor}
    )


@router.post("/users", status_code=201, summary="Create a user (admins)")
async def create_user(body: UserCreateRequest, user: Admin, svc: ServicesDep) -> JSONResponse:
    created = await svc.accounts.create_user(body.username, body.password, body.role, user.username)
    return JSONResponse(user_body(created), status_code=201)


@router.patch(
    "/users/{username}",
    summary="Change a user's role or password (admins); ends their sessions",
    responses={409: {"description": "Would demote the last admin"}},
)
async def update_user(
    username: str, body: UserUpdateRequest, user: Admin, svc: ServicesDep
) -> JSONResponse:
    updated = await svc.accounts.update_user(
        username, user.username, role=body.role, password=body.password
    )
    return JSONResponse(user_body(updated))


@router.delete(
    "/users/{username}",
    summary="Delete a user and their keys (admins)",
    responses={409: {"description": "Would delete the last admin"}},
)
async def delete_user(username: str, user: Admin, svc: ServicesDep) -> JSONResponse:
    await svc.accounts.delete_user(username, user.username)
    return JSONResponse({"message": "User deleted."})
