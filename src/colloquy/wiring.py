"""What every entry point is built from: the services over one store, built and handed out the
same way to the API, the dashboard and the command line (so none of them imports another)."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from colloquy.config import Settings
from colloquy.semantic import Embedder, SemanticUnavailable, load_embedder
from colloquy.services.accounts import AccountService
from colloquy.services.aliases import AliasService
from colloquy.services.knowledge import KnowledgeService
from colloquy.services.review import ReviewService
from colloquy.services.setup import SetupService
from colloquy.services.throttle import LoginThrottle, WriteAction, WriteLimits
from colloquy.store.factory import PoolSettings
from colloquy.store.protocol import Store

if TYPE_CHECKING:
    from colloquy.services.embedding import EmbeddingService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    store: Store
    knowledge: KnowledgeService
    review: ReviewService
    accounts: AccountService
    limits: WriteLimits
    aliases: AliasService
    setup: SetupService
    # CQ_PUBLIC_READ: anyone may query and read the statistics, as on the reference server.
    public_read: bool = False
    # Units' vectors (colloquy[semantic]); None without the extra or with CQ_SEMANTIC=off.
    embedding: "EmbeddingService | None" = None


def build_services(
    settings: Settings, store: Store, embedding: "EmbeddingService | None" = None
) -> Services:
    """The services over ``store``; with ``embedding``, each proposal stored is queued for
    its vector."""
    assert settings.jwt_secret is not None and settings.api_key_pepper is not None
    pepper = settings.api_key_pepper.get_secret_value()
    throttle = LoginThrottle(
        store, pepper, settings.login_free_attempts, settings.login_address_free_attempts
    )
    limits = {
        WriteAction.PROPOSE: settings.rate_limit_propose,
        WriteAction.CONFIRM: settings.rate_limit_confirm,
        WriteAction.FLAG: settings.rate_limit_flag,
    }
    return Services(
        store=store,
        knowledge=KnowledgeService(
            store,
            settings.ranking,
            embedding.notice if embedding else None,
            embedding.rerank if embedding else None,
        ),
        review=ReviewService(store, settings.ranking),
        accounts=AccountService(
            store,
            settings.jwt_secret.get_secret_value(),
            pepper,
            timedelta(seconds=settings.session_ttl_seconds),
            throttle,
        ),
        public_read=settings.public_read,
        limits=WriteLimits(limits),
        aliases=AliasService(store),
        setup=SetupService(store, throttle),
        embedding=embedding,
    )


def semantic_embedder(settings: Settings) -> Embedder | None:
    """The model for ``CQ_SEMANTIC``: ``None`` when off, or when ``auto`` and the extra is
    missing; with ``on`` a missing extra raises ``SemanticUnavailable`` (how to install it)."""
    if settings.semantic == "off":
        return None
    try:
        embedder = load_embedder()
    except SemanticUnavailable as missing:
        if settings.semantic == "on":
            raise
        log.info("semantic re-ranking is off: %s", missing)
        return None
    log.info("semantic re-ranking is on: %s", embedder.model_id)
    return embedder


def embedding_service(store: Store, embedder: Embedder, pace: bool = True) -> "EmbeddingService":
    """Units' vectors over ``store`` by ``embedder`` (``services.embedding``)."""
    # Imported here: it needs numpy, which only the extra brings, and ``embedder`` exists
    # only when the extra is installed.
    from colloquy.services.embedding import EmbeddingService

    return EmbeddingService(store, embedder, pace)


def pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        size=settings.db_pool_size,
        timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
        readers=settings.db_readers,
    )


# ---------------------------------------------------------------- for HTTP requests


def services(request: Request) -> Services:
    return request.app.state.services


async def _services(request: Request) -> Services:
    """``services`` as a dependency. It is ``async`` because FastAPI runs a plain function's
    dependency in a worker thread: a hand-off there and back on every request."""
    return services(request)


ServicesDep = Annotated[Services, Depends(_services)]


def client_host(request: Request) -> str | None:
    """The client's address (behind a proxy, as uvicorn's ``--forwarded-allow-ips`` trusts)."""
    return request.client.host if request.client else None
