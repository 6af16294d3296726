"""``/api/v1/review``: reviewers' routes (session token, role reviewer or admin)."""

from typing import Annotated

import cq_schema
from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from colloquy.api.deps import Reviewer
from colloquy.api.schemas import RejectRequest
from colloquy.clock import iso
from colloquy.domain import scoring
from colloquy.domain.bounds import MAX_INT_PARAM
from colloquy.domain.models import ReviewStatus
from colloquy.domain.normalize import normalize_tags
from colloquy.services.errors import bounded
from colloquy.services.review import review_item
from colloquy.store.protocol import UnitFilter
from colloquy.wiring import ServicesDep

router = APIRouter(prefix="/api/v1/review", tags=["review"])

NEXT_CURSOR_HEADER = "X-Next-Cursor"
STATUSES = frozenset(status.value for status in ReviewStatus)


@router.get("/queue", summary="Pending units, oldest first")
async def queue(
    user: Reviewer,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=0, le=100, description="0 answers only the total")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT_PARAM)] = 0,
) -> JSONResponse:
    items, total = await svc.review.queue(limit, offset)
    return JSONResponse(
        {"items": [review_item(i) for i in items], "total": total, "offset": offset, "limit": limit}
    )


@router.get("/stats", summary="Counts, activity and 30-day trends")
async def stats(user: Reviewer, svc: ServicesDep) -> JSONResponse:
    return JSONResponse(await svc.review.stats())


@router.get("/units", summary="Browse units, newest first (next page: X-Next-Cursor)")
async def units(
    user: Reviewer,
    svc: ServicesDep,
    response: Response,
    domain: Annotated[str | None, Query(max_length=cq_schema.DOMAIN_MAX_LENGTH)] = None,
    confidence_min: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    confidence_max: Annotated[float | None, Query(ge=0.0)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    created_by: Annotated[str | None, Query(max_length=256)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=0, le=100)] = 100,
) -> JSONResponse:
    status_value = (status or "").strip()
    if status_value and status_value not in STATUSES:
        return JSONResponse([])
    with bounded():
        domains = normalize_tags([domain or ""], cq_schema.DOMAIN_MAX_LENGTH, "domain")
    filters = UnitFilter(
        status=ReviewStatus(status_value) if status_value else None,
        domain=domains[0] if domains else None,
        confidence_min=None if confidence_min is None else scoring.to_points(confidence_min),
        confidence_max=None
        if confidence_max is None
        else scoring.to_points(min(confidence_max, 1.0)),
        created_by=created_by or None,
        text=q or None,
    )
    page = await svc.review.units(filters, cursor, limit)
    headers = {NEXT_CURSOR_HEADER: page.next_cursor} if page.next_cursor else None
    return JSONResponse([review_item(i) for i in page.items], headers=headers)


@router.get("/{unit_id}", summary="One unit in any state")
async def get_unit(unit_id: str, user: Reviewer, svc: ServicesDep) -> JSONResponse:
    return JSONResponse(review_item(await svc.review.get(unit_id)))


@router.post("/{unit_id}/approve", summary="Approve a pending unit")
async def approve(unit_id: str, user: Reviewer, svc: ServicesDep) -> JSONResponse:
    return await _decide(unit_id, ReviewStatus.APPROVED, user.username, svc, None)


@router.post("/{unit_id}/reject", summary="Reject a pending unit, optionally with a reason")
async def reject(
    unit_id: str,
    user: Reviewer,
    svc: ServicesDep,
    body: Annotated[RejectRequest | None, Body()] = None,
) -> JSONResponse:
    reason = body.reason.strip() if body and body.reason else None
    return await _decide(unit_id, ReviewStatus.REJECTED, user.username, svc, reason or None)


async def _decide(
    unit_id: str, status: ReviewStatus, reviewer: str, svc: ServicesDep, note: str | None
) -> JSONResponse:
    decision = await svc.review.decide(unit_id, status, reviewer, note)
    return JSONResponse(
        {
            "unit_id": decision.unit_id,
            "status": decision.status.value,
            "reviewed_by": decision.reviewed_by,
            "reviewed_at": iso(decision.reviewed_at),
        }
    )
