"""User administration, for admins."""

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from colloquy.domain.models import Role
from colloquy.services.errors import ServiceError
from colloquy.services.inputs import UserCreateRequest, UserUpdateRequest
from colloquy.web.auth import ADMIN_ROLES, Viewer, ViewerDep, require
from colloquy.web.errors import PageError
from colloquy.web.forms import checked_form, field, form_failure
from colloquy.web.navigation import pending_reviews, redirect
from colloquy.web.templating import render
from colloquy.wiring import Services, ServicesDep

router = APIRouter(include_in_schema=False)

USERS_PAGE_SIZE = 50


async def _users_page(
    request: Request,
    me: Viewer,
    svc: Services,
    after: str | None = None,
    error: str | None = None,
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    page = await svc.accounts.list_users(after, USERS_PAGE_SIZE)
    return render(
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
        await pending_reviews(me, svc),
        status=status,
    )


@router.get("/admin/users")
async def users(request: Request, me: ViewerDep, svc: ServicesDep, after: str = "") -> HTMLResponse:
    require(me, ADMIN_ROLES)
    return await _users_page(request, me, svc, after=after[:64] or None)


@router.post("/admin/users")
async def create_user(request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    form = await checked_form(request, me)
    require(me, ADMIN_ROLES)
    entered = {"username": field(form, "username"), "role": field(form, "role")}
    try:
        body = UserCreateRequest(
            username=entered["username"], password=field(form, "password"), role=entered["role"]
        )
        await svc.accounts.create_user(body.username, body.password, body.role, me.user.username)
    except (ValidationError, ServiceError) as exc:
        error, status = form_failure(exc)
        return await _users_page(request, me, svc, error=error, entered=entered, status=status)
    return redirect("/admin/users", notice="user_created")


async def _update_user(
    request: Request,
    me: Viewer,
    svc: Services,
    username: str,
    role: str | None,
    password: str | None,
) -> Response:
    try:
        body = UserUpdateRequest(role=role, password=password)
        await svc.accounts.update_user(
            username, me.user.username, role=body.role, password=body.password
        )
    except (ValidationError, ServiceError) as exc:
        error, status = form_failure(exc)
        return await _users_page(request, me, svc, error=error, status=status)
    return redirect("/admin/users", notice="role_changed" if role else "password_reset")


@router.post("/admin/users/{username:path}/role")
async def change_role(username: str, request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    form = await checked_form(request, me)
    require(me, ADMIN_ROLES)
    return await _update_user(request, me, svc, username, field(form, "role"), None)


@router.post("/admin/users/{username:path}/password")
async def reset_password(
    username: str, request: Request, me: ViewerDep, svc: ServicesDep
) -> Response:
    form = await checked_form(request, me)
    require(me, ADMIN_ROLES)
    return await _update_user(request, me, svc, username, None, field(form, "password"))


@router.get("/admin/users/{username:path}/delete")
async def confirm_delete(
    username: str, request: Request, me: ViewerDep, svc: ServicesDep
) -> HTMLResponse:
    require(me, ADMIN_ROLES)
    try:
        user = await svc.accounts.get_user(username)
    except ServiceError as exc:
        raise PageError(exc.status_code, "User not found", exc.detail, me) from exc
    return render(
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
        await pending_reviews(me, svc),
    )


@router.post("/admin/users/{username:path}/delete")
async def delete_user(username: str, request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    await checked_form(request, me)
    require(me, ADMIN_ROLES)
    try:
        await svc.accounts.delete_user(username, me.user.username)
    except ServiceError as exc:
        return await _users_page(request, me, svc, error=exc.detail, status=exc.status_code)
    return redirect("/admin/users", notice="user_deleted")
