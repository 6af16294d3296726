"""The application: the API, its MCP endpoint and the dashboard side by side over one store's
services, the body-size and text limits, the security headers, store faults answered, and the
store's lifetime."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI, Request, Response

from colloquy import __version__, api, mcp_endpoint, web
from colloquy.api import faults
from colloquy.api.headers import SecurityHeadersMiddleware
from colloquy.api.limits import BodyLimitMiddleware, StorableTextMiddleware
from colloquy.config import Settings
from colloquy.store.factory import open_store
from colloquy.store.protocol import Ranking, Store, StoreFault
from colloquy.web.errors import error_page
from colloquy.wiring import build_services, embedding_service, pool_settings, semantic_embedder

log = logging.getLogger(__name__)


async def _store_fault(request: Request, exc: Exception) -> Response:
    """JSON ``{"detail": ...}`` under ``/api/``, the dashboard's error page elsewhere."""
    assert isinstance(exc, StoreFault)
    answer = faults.answer_for(request, exc)
    if faults.is_api(request):
        return faults.json_answer(answer)
    page = error_page(request, answer.status, answer.title, answer.detail + ".")
    page.headers.update(answer.headers)
    return page


async def _prepare_queries(store: Store, ranking: Ranking) -> None:
    """Compile the common query shapes while the server already answers: a failure here
    (the database briefly away at start) only leaves them to be compiled on first use."""
    try:
        await store.prepare_queries(ranking)
    except Exception:
        log.warning("could not prepare the query statements ahead", exc_info=True)


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The app; it opens (and closes) a store for ``settings`` unless one is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp.running():
            if store is not None:
                yield
                return
            async with _own_store(app):
                yield

    @asynccontextmanager
    async def _own_store(app: FastAPI) -> AsyncIterator[None]:
        embedder = await asyncio.to_thread(semantic_embedder, settings)
        own = open_store(settings.resolved_database_url(), pool_settings(settings))
        embedding = embedding_service(own, embedder) if embedder else None
        app.state.services = build_services(settings, own, embedding)
        background = [asyncio.create_task(_prepare_queries(own, settings.ranking))]
        if embedding is not None:
            background.append(asyncio.create_task(embedding.run()))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with suppress(asyncio.CancelledError):
                    await task
            await own.close()

    app = FastAPI(
        title="cq Server",
        version=__version__,
        description="colloquy: a cq v1 knowledge-commons server.",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,  # served from local assets by ``api.docs``
        redoc_url=None,
    )
    # Siblings over the same services: the API's routes first, so they match first.
    api.install(app)
    mcp = mcp_endpoint.install(app)
    web.install(app, settings)
    app.add_exception_handler(StoreFault, _store_fault)
    app.add_middleware(StorableTextMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: the 413s get them too
    if store is not None:
        app.state.services = build_services(settings, store)
    return app
