"""The HTTP API: the cq v1 routes plus colloquy's additive account routes."""

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from colloquy.api import accounts, aliases, audit, docs, knowledge, meta, review
from colloquy.domain.bounds import replace_unstorable_in
from colloquy.services.errors import ServiceError


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with the echoed input made encodable: it may hold the lone surrogate
    that made it invalid."""
    assert isinstance(exc, RequestValidationError)
    errors = replace_unstorable_in(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": errors}, status_code=422)


def install(app: FastAPI) -> None:
    """Add the API's routes, its docs pages and its error answers to ``app``."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # The agents' routes are matched right after the health check: they take most requests,
    # and every route ahead of them costs each of those requests path matches. They are also
    # included in their documented place, which alone shows in /openapi.json (and never
    # matches first), so the documentation keeps its order.
    app.include_router(meta.router)
    app.include_router(knowledge.router, include_in_schema=False)
    for module in (accounts, audit, aliases, knowledge, review):
        app.include_router(module.router)
    docs.install(app)
