"""``/api/v1/review``: reviewers' routes (session token, role reviewer or admin)."""

from typing import Annotated, Any

import cq_schema
from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from colloquy.api.deps import Reviewer
from colloquy.clock import iso
from colloquy.domain.bounds import MAX_INT_PARAM
from colloquy.domain.models import ReviewStatus
from colloquy.services.errors import InvalidInput
from colloquy.services.inputs import RejectRequest
from colloquy.services.unit_filters import API_READER, parse_unit_filters
from colloquy.services.views import ReviewStatsView
from colloquy.store.protocol import Activity, DecidedActivity, Neighbour, ReviewItem
from colloquy.wiring import ServicesDep

router = APIRouter(prefix="/api/v1/review", tags=["review"])

NEXT_CURSOR_HEADER = "X-Next-Cursor"


def review_item(item: ReviewItem) -> dict[str, Any]:
    return {
        "knowledge_unit": item.unit.for_reviewers(),
        "status": item.status.value,
        "reviewed_by": item.reviewed_by,
        "reviewed_at": iso(item.reviewed_at),
    }


def activity_item(event: Activity) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": event.type,
        "unit_id": event.unit_id,
        "summary": event.summary,
    }
    if isinstance(event, DecidedActivity):
        body["reviewed_by"] = event.reviewed_by
    body["timestamp"] = iso(event.timestamp)
    return body


def stats_body(stats: ReviewStatsView) -> dict[str, Any]:
    return {
        "counts": {status.value: count for status, count in stats.counts.items()},
        "domains": stats.domains,
        "confidence_distribution": {b.label: b.count for b in stats.confidence},
        "recent_activity": [activity_item(a) for a in stats.activity],
        "trends": {
            "daily": [
                {
                    "date": d.day.isoformat(),
                    "proposed": d.proposed,
                    "approved": d.approved,
                    "rejected": d.rejected,
                }
                for d in stats.since_first_event()
            ]
        },
    }


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
    return JSONResponse(stats_body(await svc.review.stats()))


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
    parsed = parse_unit_filters(
        API_READER,
        status or "",
        domain or "",
        confidence_min,
        # The wire reads a maximum above 1 as 1.
        None if confidence_max is None else min(confidence_max, 1.0),
        created_by or "",
        q or "",
    )
    if parsed.unknown_status:
        return JSONResponse([])
    if parsed.problems:
        raise InvalidInput(parsed.problems[0])
    filters = parsed.filters
    page = await svc.review.units(filters, cursor, limit)
    headers = {NEXT_CURSOR_HEADER: page.next_cursor} if page.next_cursor else None
    return JSONResponse([review_item(i) for i in page.items], headers=headers)


@router.get("/{unit_id}", summary="One unit in any state")
async def get_unit(unit_id: str, user: Reviewer, svc: ServicesDep) -> JSONResponse:
    return JSONResponse(review_item(await svc.review.get(unit_id)))


def neighbour_item(neighbour: Neighbour) -> dict[str, Any]:
    return {
        "unit_id": neighbour.unit_id,
        "summary": neighbour.summary,
        "status": neighbour.status.value,
        "score": round(neighbour.score, 3),
    }


@router.get(
    "/{unit_id}/neighbours",
    summary="Pending and approved units possibly the same as this one, closest first",
)
async def neighbours(unit_id: str, user: Reviewer, svc: ServicesDep) -> JSONResponse:
    await svc.review.get(unit_id)  # 404 for a unit that does not exist
    return JSONResponse([neighbour_item(n) for n in await svc.review.neighbours(unit_id)])


@router.post("/{unit_id}/approve", summary="Approve a pending unit")
async def approve(unit_id: str, user: Reviewer, svc: ServicesDep) -> JSONResponse:
    return await _decide(unit_id, ReviewStatus.APPROVED, user.username, svc, None)


@router.post(
    "/{unit_id}/reject",
    summary="Reject a pending unit, optionally with a reason or as a duplicate of another",
)
async def reject(
    unit_id: str,
    user: Reviewer,
    svc: ServicesDep,
    body: Annotated[RejectRequest | None, Body()] = None,
) -> JSONResponse:
    reason = body.reason.strip() if body and body.reason else None
    duplicate_of = body.duplicate_of if body else None
    return await _decide(
        unit_id, ReviewStatus.REJECTED, user.username, svc, reason or None, duplicate_of
    )


async def _decide(
    unit_id: str,
    status: ReviewStatus,
    reviewer: str,
    svc: ServicesDep,
    note: str | None,
    duplicate_of: str | None = None,
) -> JSONResponse:
    decision = await svc.review.decide(unit_id, status, reviewer, note, duplicate_of)
    body = {
        "unit_id": decision.unit_id,
        "status": decision.status.value,
        "reviewed_by": decision.reviewed_by,
        "reviewed_at": iso(decision.reviewed_at),
    }
    if decision.duplicate_of:
        body["duplicate_of"] = decision.duplicate_of
    return JSONResponse(body)
