"""The tag alias table (``k8s`` -> ``kubernetes``) that hybrid ranking reads, for admins."""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from colloquy.services.errors import ServiceError
from colloquy.services.inputs import AliasRequest
from colloquy.web.auth import ADMIN_ROLES, Viewer, ViewerDep, require
from colloquy.web.forms import checked_form, field, form_failure
from colloquy.web.navigation import pending_reviews, redirect
from colloquy.web.templating import render
from colloquy.wiring import Services, ServicesDep

router = APIRouter(include_in_schema=False)


async def _aliases_page(
    request: Request,
    me: Viewer,
    svc: Services,
    error: str | None = None,
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    aliases = await svc.aliases.list()
    return render(
        request,
        "aliases.html",
        {
            "title": "Tag aliases",
            "nav": "aliases",
            "aliases": [(a, f"/admin/aliases/{quote(a.alias, safe='')}/remove") for a in aliases],
            "error": error,
            "entered": entered or {"alias": "", "canonical": ""},
        },
        me,
        await pending_reviews(me, svc),
        status=status,
    )


@router.get("/admin/aliases")
async def aliases(request: Request, me: ViewerDep, svc: ServicesDep) -> HTMLResponse:
    require(me, ADMIN_ROLES)
    return await _aliases_page(request, me, svc)


@router.post("/admin/aliases")
async def add_alias(request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    form = await checked_form(request, me)
    require(me, ADMIN_ROLES)
    entered = {"alias": field(form, "alias")[:256], "canonical": field(form, "canonical")[:256]}
    try:
        body = AliasRequest(canonical=entered["canonical"])
        added = await svc.aliases.add(entered["alias"], body.canonical, me.user.username)
    except (ValidationError, ServiceError) as exc:
        error, status = form_failure(exc)
        return await _aliases_page(request, me, svc, error=error, entered=entered, status=status)
    return redirect("/admin/aliases", notice="alias_added" if added.created else "alias_kept")


@router.post("/admin/aliases/{alias:path}/remove")
async def remove_alias(alias: str, request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    await checked_form(request, me)
    require(me, ADMIN_ROLES)
    try:
        await svc.aliases.remove(alias, me.user.username)
    except ServiceError as exc:
        return await _aliases_page(request, me, svc, error=exc.detail, status=exc.status_code)
    return redirect("/admin/aliases", notice="alias_removed")
