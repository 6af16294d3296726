"""The dashboard, the unit list and a unit's page."""

from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colloquy.domain.models import ReviewStatus
from colloquy.services.accounts import REVIEW_ROLES
from colloquy.services.errors import ServiceError, UnitNotFound
from colloquy.services.review import TREND_DAYS
from colloquy.services.unit_filters import FORM_READER, parse_unit_filters
from colloquy.store.protocol import ReviewItem, UnitFilter
from colloquy.web import charts
from colloquy.web.auth import ViewerDep, require
from colloquy.web.errors import PageError
from colloquy.web.navigation import pending_reviews
from colloquy.web.templating import render
from colloquy.wiring import Services, ServicesDep

router = APIRouter(include_in_schema=False)

UNITS_PAGE_SIZE = 25


def units_link(**params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/units?{query}" if query else "/units"


@router.get("/dashboard")
async def dashboard(request: Request, me: ViewerDep, svc: ServicesDep) -> HTMLResponse:
    require(me, REVIEW_ROLES)
    stats = await svc.review.stats()
    domains = sorted(stats.domains.items(), key=lambda kv: (-kv[1], kv[0]))
    domain_bars = [
        charts.Bar(d, c, units_link(status="approved", domain=d)) for d, c in domains[:12]
    ]
    buckets = [
        charts.Bar(
            b.label,
            b.count,
            units_link(
                status="approved",
                confidence_min=str(b.low),
                confidence_max=None if b.high is None else str(b.high),
            ),
        )
        for b in stats.confidence
    ]
    days = stats.days_from(stats.today - timedelta(days=TREND_DAYS - 1))
    series = [
        charts.Series("proposed", "Proposed", [d.proposed for d in days]),
        charts.Series("approved", "Approved", [d.approved for d in days]),
        charts.Series("rejected", "Rejected", [d.rejected for d in days]),
    ]
    return render(
        request,
        "dashboard.html",
        {
            "title": "Dashboard",
            "nav": "dashboard",
            "counts": stats.counts,
            "domain_chart": charts.bar_list(domain_bars, "Approved units per domain", "domains")
            if domain_bars
            else None,
            "more_domains": max(len(domains) - len(domain_bars), 0),
            "histogram": charts.histogram(buckets, "Approved units by confidence", "confidence"),
            "trend": charts.line_chart(
                [d.day.isoformat() for d in days],
                series,
                f"Proposals and decisions per day, last {TREND_DAYS} days",
                "trend",
            ),
            "series": series,
            "days": days,
            "activity": stats.activity,
            "trend_days": TREND_DAYS,
        },
        me,
        await pending_reviews(me, svc),
    )


# ---------------------------------------------------------------- units


def ranks_text(filters: UnitFilter, svc: Services) -> bool:
    """Whether the unit list is a ranked text search: hybrid ranking, a text, and no filter but
    (at most) approved units; other filters page through units as before."""
    others = replace(filters, text=None, status=None) != UnitFilter()
    approved = filters.status in (None, ReviewStatus.APPROVED)
    return svc.review.ranks_text and bool(filters.text) and approved and not others


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
    parsed = parse_unit_filters(
        FORM_READER, status, domain, confidence_min, confidence_max, created_by, q
    )
    errors = list(parsed.problems)
    filters = parsed.filters
    next_cursor = None
    ranked = ranks_text(filters, svc) and not errors
    if ranked:
        # The approved units, as an agent's query with this text would rank them.
        found = await svc.review.search(filters.text or "")
        rows = [(unit, ReviewStatus.APPROVED) for unit in found]
        cursor = ""
    else:
        try:
            page = await svc.review.units(filters, cursor[:512] or None, UNITS_PAGE_SIZE)
        except ServiceError as exc:
            errors.append(exc.detail)
            page = await svc.review.units(filters, None, UNITS_PAGE_SIZE)
            cursor = ""
        rows = [(item.unit, item.status) for item in page.items]
        next_cursor = page.next_cursor
    shown = {
        "q": filters.text or "",
        "status": filters.status.value if filters.status else "",
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
            "rows": rows,
            "ranked": ranked,
            "filters": shown,
            "filtered": filtered,
            "errors": errors,
            "next_link": units_link(**shown, cursor=next_cursor) if next_cursor else None,
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
    neighbours = await svc.review.neighbours(unit_id)
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
            "neighbours": neighbours,
            "extensions": sorted(extensions.items()) if extensions else [],
        },
        me,
        await pending_reviews(me, svc),
    )


# ---------------------------------------------------------------- API keys
