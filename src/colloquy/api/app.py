"""The FastAPI application: routes, error mapping, the body-size limit and the store's lifetime."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from colloquy import __version__
from colloquy.api import accounts, audit, docs, faults, knowledge, meta, review
from colloquy.api.headers import SecurityHeadersMiddleware
from colloquy.api.limits import BodyLimitMiddleware, StorableTextMiddleware
from colloquy.config import Settings
from colloquy.domain.bounds import replace_unstorable_in
from colloquy.services.errors import ServiceError
from colloquy.store.factory import open_store
from colloquy.store.protocol import Store, StoreFault
from colloquy.web import install as install_web
from colloquy.wiring import build_services, pool_settings

log = logging.getLogger(__name__)


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with the echoed input made encodable: it may hold the lone surrogate
    that made it invalid."""
    assert isinstance(exc, RequestValidationError)
    errors = replace_unstorable_in(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": errors}, status_code=422)


async def _prepare_queries(store: Store) -> None:
    """Compile the common query shapes while the server already answers: a failure here
    (the database briefly away at start) only leaves them to be compiled on first use."""
    try:
        await store.prepare_queries()
    except Exception:
        log.warning("could not prepare the query statements ahead", exc_info=True)


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The app; it opens (and closes) a store for ``settings`` unless one is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is not None:
            yield
            return
        own = open_store(settings.resolved_database_url(), pool_settings(settings))
        app.state.services = build_services(settings, own)
        preparing = asyncio.create_task(_prepare_queries(own))
        try:
            yield
        finally:
            preparing.cancel()
            with suppress(asyncio.CancelledError):
                await preparing
            await own.close()

    app = FastAPI(
        title="cq Server",
        version=__version__,
        description="colloquy: a cq v1 knowledge-commons server.",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,  # served from local assets by ``docs``
        redoc_url=None,
    )
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StoreFault, faults.store_fault)
    for module in (meta, accounts, audit, knowledge, review):
        app.include_router(module.router)
    docs.install(app)
    install_web(app, settings)  # the dashboard, after the API routes
    app.add_middleware(StorableTextMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: the 413s get them too
    if store is not None:
        app.state.services = build_services(settings, store)
    return app
