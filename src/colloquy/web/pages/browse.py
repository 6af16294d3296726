"""The dashboard, the unit list and a unit's page."""

from datetime import datetime
from urllib.parse import urlencode

import cq_schema
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colloquy.clock import now
from colloquy.domain import scoring
from colloquy.domain.bounds import BoundError
from colloquy.domain.models import ReviewStatus
from colloquy.domain.normalize import normalize_tags
from colloquy.services.accounts import REVIEW_ROLES
from colloquy.services.errors import ServiceError, UnitNotFound
from colloquy.services.review import TREND_DAYS
from colloquy.store.protocol import ReviewItem, UnitFilter
from colloquy.web import charts
from colloquy.web.auth import ViewerDep, require
from colloquy.web.errors import PageError
from colloquy.web.navigation import pending_reviews
from colloquy.web.templating import render
from colloquy.wiring import ServicesDep

router = APIRouter(include_in_schema=False)

UNITS_PAGE_SIZE = 25
STATUSES = frozenset(s.value for s in ReviewStatus)


def units_link(**params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/units?{query}" if query else "/units"


def _bucket_bounds(label: str) -> tuple[str, str | None]:
    low, high = label.split("-")
    return low, None if high == "1.0" else high


@router.get("/dashboard")
async def dashboard(request: Request, me: ViewerDep, svc: ServicesDep) -> HTMLResponse:
    require(me, REVIEW_ROLES)
    stats = await svc.review.stats()
    counts = stats["counts"]
    domains = sorted(stats["domains"].items(), key=lambda kv: (-kv[1], kv[0]))
    domain_bars = [
        charts.Bar(d, c, units_link(status="approved", domain=d)) for d, c in domains[:12]
    ]
    buckets = []
    for label, count in stats["confidence_distribution"].items():
        low, high = _bucket_bounds(label)
        href = units_link(status="approved", confidence_min=low, confidence_max=high)
        buckets.append(charts.Bar(label, count, href))
    days = charts.window(stats["trends"]["daily"], now().date(), TREND_DAYS)
    series = [
        charts.Series("proposed", "Proposed", [int(d["proposed"]) for d in days]),  # type: ignore[call-overload]
        charts.Series("approved", "Approved", [int(d["approved"]) for d in days]),  # type: ignore[call-overload]
        charts.Series("rejected", "Rejected", [int(d["rejected"]) for d in days]),  # type: ignore[call-overload]
    ]
    activity = [
        a | {"when": datetime.fromisoformat(a["timestamp"])} for a in stats["recent_activity"]
    ]
    return render(
        request,
        "dashboard.html",
        {
            "title": "Dashboard",
            "nav": "dashboard",
            "counts": counts,
            "domain_chart": charts.bar_list(domain_bars, "Approved units per domain", "domains")
            if domain_bars
            else None,
            "more_domains": max(len(domains) - len(domain_bars), 0),
            "histogram": charts.histogram(buckets, "Approved units by confidence", "confidence"),
            "trend": charts.line_chart(
                [str(d["date"]) for d in days],
                series,
                f"Proposals and decisions per day, last {TREND_DAYS} days",
                "trend",
            ),
            "series": series,
            "days": days,
            "activity": activity,
            "trend_days": TREND_DAYS,
        },
        me,
        await pending_reviews(me, svc),
    )


# ---------------------------------------------------------------- units


def _confidence(raw: str, name: str, errors: list[str]) -> int | None:
    if not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        errors.append(f"{name} must be a number from 0 to 1")
        return None
    return scoring.to_points(value)


@router.get("/units")
async def units(
    request: Request,
    me: ViewerDep,
    svc: ServicesDep,
    status: str = "",
    domain: str = "",
    confidence_min: str = "",
    confidence_max: str = "",
    created_by: str = "",
    q: str = "",
    cursor: str = "",
) -> HTMLResponse:
    require(me, REVIEW_ROLES)
    errors: list[str] = []
    status_value = status.strip().lower()
    if status_value and status_value not in STATUSES:
        errors.append("status must be pending, approved or rejected")
        status_value = ""
    try:
        domains = normalize_tags([domain], cq_schema.DOMAIN_MAX_LENGTH, "Domain")
    except BoundError as exc:
        errors.append(str(exc))
        domains = []
    filters = UnitFilter(
        status=ReviewStatus(status_value) if status_value else None,
        domain=domains[0] if domains else None,
        confidence_min=_confidence(confidence_min, "Minimum confidence", errors),
        confidence_max=_confidence(confidence_max, "Maximum confidence", errors),
        created_by=created_by.strip()[:256] or None,
        text=q.strip()[:200] or None,
    )
    try:
        page = await svc.review.units(filters, cursor[:512] or None, UNITS_PAGE_SIZE)
    except ServiceError as exc:
        errors.append(exc.detail)
        page = await svc.review.units(filters, None, UNITS_PAGE_SIZE)
        cursor = ""
    shown = {
        "q": q.strip()[:200],
        "status": status_value,
        "domain": domain.strip(),
        "confidence_min": confidence_min.strip(),
        "confidence_max": confidence_max.strip(),
        "created_by": created_by.strip(),
    }
    filtered = any(shown.values())
    described = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in shown.items() if v)
    return render(
        request,
        "units.html",
        {
            "title": f"Units: {described}" if filtered else "Units",
            "nav": "units",
            "items": page.items,
            "filters": shown,
            "filtered": filtered,
            "errors": errors,
            "next_link": units_link(**shown, cursor=page.next_cursor) if page.next_cursor else None,
            "first_link": units_link(**shown) if cursor else None,
            "statuses": [s.value for s in ReviewStatus],
        },
        me,
        await pending_reviews(me, svc),
    )


@router.get("/units/{unit_id}")
async def unit_page(unit_id: str, request: Request, me: ViewerDep, svc: ServicesDep) -> Response:
    require(me, REVIEW_ROLES)
    try:
        item: ReviewItem = await svc.review.get(unit_id)
    except UnitNotFound as exc:
        raise PageError(
            404, "Unit not found", "There is no knowledge unit with that id.", me
        ) from exc
    history = await svc.review.history(unit_id)
    extensions = item.unit.extensions
    return render(
        request,
        "unit.html",
        {
            "title": f"Unit: {item.unit.insight.summary[:70]}",
            "nav": "units",
            "item": item,
            "unit": item.unit,
            "history": history,
            "extensions": sorted(extensions.items()) if extensions else [],
        },
        me,
        await pending_reviews(me, svc),
    )


# ---------------------------------------------------------------- API keys
