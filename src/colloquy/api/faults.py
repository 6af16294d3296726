"""What a store fault means over HTTP, for the API and the dashboard alike: 503 with
``Retry-After`` while the database is away, 507 when its storage is full; never a bare 500."""

import logging
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse

from colloquy.store.protocol import DatabaseUnavailable, StorageFull, StoreFault

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


def answer_for(request: Request, fault: StoreFault) -> FaultAnswer:
    """The answer to ``fault``, logged here once, whichever side words it."""
    if isinstance(fault, StorageFull):
        answer = FULL
    else:
        assert isinstance(fault, DatabaseUnavailable)
        answer = UNAVAILABLE
    log.warning("%s %s -> %d: %s", request.method, request.url.path, answer.status, fault)
    return answer


def is_api(request: Request) -> bool:
    """Whether ``request`` is for the API (the dashboard answers everything else)."""
    return request.url.path.startswith(API_PREFIX)


def json_answer(answer: FaultAnswer) -> JSONResponse:
    """The API's wording: ``{"detail": ...}``."""
    return JSONResponse(
        {"detail": answer.detail}, status_code=answer.status, headers=answer.headers
    )
