"""The one answer to a store fault, for the API and the dashboard alike: 503 with
``Retry-After`` while the database is away, 507 when its storage is full; never a bare 500."""

import logging
from dataclasses import dataclass

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from colloquy.store.protocol import DatabaseUnavailable, StorageFull, StoreFault
from colloquy.web.errors import error_page

log = logging.getLogger(__name__)

# How long clients are asked to wait: a restarting database is usually back within seconds.
RETRY_AFTER_SECONDS = 5
API_PREFIX = "/api/"


@dataclass(frozen=True)
class FaultAnswer:
    status: int
    title: str
    detail: str
    headers: dict[str, str]


UNAVAILABLE = FaultAnswer(
    503,
    "Database unavailable",
    "The database is unavailable; try again shortly",
    {"Retry-After": str(RETRY_AFTER_SECONDS)},
)
FULL = FaultAnswer(
    507,
    "Storage full",
    "The database's storage is full; nothing was saved",
    {},
)


def answer_for(fault: StoreFault) -> FaultAnswer:
    if isinstance(fault, StorageFull):
        return FULL
    assert isinstance(fault, DatabaseUnavailable)
    return UNAVAILABLE


async def store_fault(request: Request, exc: Exception) -> Response:
    """JSON ``{"detail": ...}`` under ``/api/``, the dashboard's error page elsewhere."""
    assert isinstance(exc, StoreFault)
    answer = answer_for(exc)
    log.warning("%s %s -> %d: %s", request.method, request.url.path, answer.status, exc)
    if request.url.path.startswith(API_PREFIX):
        return JSONResponse(
            {"detail": answer.detail}, status_code=answer.status, headers=answer.headers
        )
    page = error_page(request, answer.status, answer.title, answer.detail + ".")
    page.headers.update(answer.headers)
    return page
