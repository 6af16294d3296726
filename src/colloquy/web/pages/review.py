"""The review page: one pending unit at a time, decided by button or key."""

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from colloquy.domain.models import ReviewStatus
from colloquy.services.accounts import REVIEW_ROLES
from colloquy.services.errors import AlreadyReviewed, InvalidInput, UnitNotFound
from colloquy.services.inputs import RejectRequest
from colloquy.web.auth import ViewerDep, require
from colloquy.web.errors import PageError
from colloquy.web.forms import checked_form, field, validation_message
from colloquy.web.navigation import pending_reviews, redirect
from colloquy.web.templating import render
from colloquy.wiring import ServicesDep

router = APIRouter(include_in_schema=False)

MAX_SKIPPED = 100
UNIT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_skipped(raw: str) -> list[str]:
    ids = [part for part in raw.split(",") if UNIT_ID.match(part)]
    return list(dict.fromkeys(ids))[-MAX_SKIPPED:]


@router.get("/review")
async def review(
    request: Request, me: ViewerDep, svc: ServicesDep, skipped: str = ""
) -> HTMLResponse:
    require(me, REVIEW_ROLES)
    skip = parse_skipped(skipped)
    items, total = await svc.review.queue(len(skip) + 1, 0)
    item = next((i for i in items if i.unit.id not in skip), None)
    still_skipped = sum(1 for i in items if i.unit.id in skip)
    neighbours = await svc.review.neighbours(item.unit.id) if item else []
    return render(
        request,
        "review.html",
        {
            "title": "Review" if item is None else f"Review: {item.unit.insight.summary[:60]}",
            "nav": "review",
            "item": item,
            "total": total,
            "skipped": ",".join(skip),
            "skip_next": ",".join([*skip, item.unit.id]) if item else "",
            "still_skipped": still_skipped,
            "neighbours": neighbours,
        },
        me,
        await pending_reviews(me, svc),
        next_card=item is not None,
    )


@router.post("/review/{unit_id}/decide")
async def decide(unit_id: str, request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    form = await checked_form(request, me)
    require(me, REVIEW_ROLES)
    decision = field(form, "decision")
    back_to_unit = field(form, "return") == "unit"
    skipped = ",".join(parse_skipped(field(form, "skipped"))) or None
    if decision not in {"approve", "reject", "duplicate"}:
        raise PageError(400, "Unknown decision", "Choose approve or reject.", me)
    note = duplicate_of = None
    if decision != "approve":
        original = field(form, "duplicate_of") if decision == "duplicate" else ""
        try:
            rejection = RejectRequest(reason=field(form, "reason"), duplicate_of=original or None)
        except ValidationError as exc:
            raise PageError(422, "Cannot reject so", validation_message(exc), me) from exc
        if decision == "duplicate" and rejection.duplicate_of is None:
            raise PageError(422, "No original chosen", "Choose the unit it duplicates.", me)
        note = (rejection.reason or "").strip() or None
        duplicate_of = rejection.duplicate_of
    status = ReviewStatus.APPROVED if decision == "approve" else ReviewStatus.REJECTED
    try:
        await svc.review.decide(unit_id, status, me.user.username, note, duplicate_of)
        notice = {"approve": "approved", "reject": "rejected"}.get(decision, "duplicate")
    except AlreadyReviewed:
        notice = "taken"
    except UnitNotFound:
        notice = "gone"
    except InvalidInput:
        notice = "no_original"
    if back_to_unit and notice != "gone":
        return redirect(f"/units/{unit_id}", notice=notice)
    return redirect("/review", skipped=skipped, notice=notice)


# ---------------------------------------------------------------- dashboard
