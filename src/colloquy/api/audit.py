"""The audit trail of admin actions, for admins."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from colloquy.api.deps import Admin
from colloquy.clock import iso
from colloquy.store.protocol import AuditEntry
from colloquy.wiring import ServicesDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def audit_body(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }


@router.get("/audit", summary="Admin actions on accounts and aliases, newest first (admins)")
async def audit(
    user: Admin,
    svc: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    page = await svc.accounts.audit(cursor, limit)
    return JSONResponse(
        {"data": [audit_body(e) for e in page.items], "next_cursor": page.next_cursor}
    )
