"""The tag alias table (``k8s`` -> ``kubernetes``) that hybrid ranking reads, for admins."""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from colloquy.api.deps import Admin
from colloquy.clock import iso
from colloquy.domain.tags import MAX_ALIAS_LENGTH, MAX_ALIASES
from colloquy.services.inputs import AliasRequest
from colloquy.store.protocol import AliasRecord
from colloquy.wiring import ServicesDep

router = APIRouter(prefix="/api/v1/admin/aliases", tags=["aliases"])

AliasPath = Annotated[str, Path(min_length=1, max_length=MAX_ALIAS_LENGTH)]


def alias_body(record: AliasRecord) -> dict[str, str | None]:
    return {
        "alias": record.alias,
        "canonical": record.canonical,
        "added_by": record.added_by,
        "added_at": iso(record.added_at),
    }


@router.get("", summary=f"Every tag alias, by alias (admins; at most {MAX_ALIASES:,})")
async def list_aliases(user: Admin, svc: ServicesDep) -> JSONResponse:
    return JSONResponse({"data": [alias_body(a) for a in await svc.aliases.list()]})


@router.put(
    "/{alias}",
    summary="Make a tag word an alias of another (admins); queries use it at once",
    description="Both words are stored as tag words (lower case, singular, no version "
    "suffix). 201 when added, 200 when that alias of that word was stored already.",
    responses={
        201: {"description": "Added"},
        409: {
            "description": "The alias names another word, would make a chain, or the "
            f"table holds {MAX_ALIASES:,} aliases"
        },
        422: {"description": "Not one word of at most 64 characters, or an alias of itself"},
    },
)
async def put_alias(
    alias: AliasPath, body: AliasRequest, user: Admin, svc: ServicesDep
) -> JSONResponse:
    added = await svc.aliases.add(alias, body.canonical, user.username)
    return JSONResponse(alias_body(added.record), status_code=201 if added.created else 200)


@router.delete("/{alias}", summary="Remove a tag alias (admins)")
async def delete_alias(alias: AliasPath, user: Admin, svc: ServicesDep) -> JSONResponse:
    removed = await svc.aliases.remove(alias, user.username)
    return JSONResponse(alias_body(removed))
