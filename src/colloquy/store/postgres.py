"""PostgreSQL specifics: the asyncpg engine and its pool.

PostgreSQL has no single-writer limit, so one pool serves reads and writes; row locks taken by
the conditional ``UPDATE``s (and ``SELECT ... FOR UPDATE`` on a key owner) serialise the few
writes that contend.
"""

from sqlalchemy import ColumnElement, text
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from colloquy.store.sql import SqlStore

DEFAULT_POOL_SIZE = 10
DEFAULT_POOL_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0


def create_engine(
    url: str,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={"timeout": connect_timeout, "server_settings": {"timezone": "UTC"}},
    )


class PostgresStore(SqlStore):
    """The backend for teams: several API processes or replicas on one database."""

    def __init__(
        self,
        url: str,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        engine = create_engine(url, pool_size, pool_timeout, connect_timeout)
        super().__init__(engine, engine, postgres_insert)

    def _text_match(self, query: str) -> ColumnElement[bool]:
        return text("units.search @@ plainto_tsquery('english', :words)").bindparams(words=query)

    async def _lock_users(self, conn: AsyncConnection) -> None:
        # Concurrent inserts would each see an empty table; this lock admits one at a time.
        await conn.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
