"""PostgreSQL specifics: the asyncpg engine and its pool (what the SQL differs in is
``store.sql.dialects.POSTGRESQL``).

PostgreSQL has no single-writer limit, so one pool serves reads and writes; row locks taken by
the conditional ``UPDATE``s (and ``SELECT ... FOR UPDATE`` on a key owner) serialise the few
writes that contend, and the counters that every write adds to are spread over
``POSTGRES_COUNTER_SHARDS`` rows each, so that concurrent writers seldom wait on one.
"""

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from colloquy.store.sql import SqlStore
from colloquy.store.sql.database import AsyncDatabase
from colloquy.store.sql.dialects import POSTGRESQL

DEFAULT_POOL_SIZE = 10
# A request waits this long for a free connection before it is answered 503 + Retry-After:
# as long as a connect may take, so an overloaded or unreachable database never looks like a hang.
DEFAULT_POOL_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 10.0
# Session settings of every connection. No parallel plans: each statement reads a bounded
# number of rows, and starting a plan's workers costs more than they save, the more so when
# concurrent requests keep every core busy (at a million units, a ranking round that the
# planner split over workers took 40-80 ms instead of 12-24 ms in one process).
# ``constraint_exclusion`` on: a plan made for a statement's values leaves out the parts whose
# own conditions contradict each other. A ranked round (``ranking/statements.py``) has a range
# per domain, feature list and domain count, and most are empty (``confidence >= c AND
# confidence < c``): a round that PostgreSQL plans for its values (each prepared statement's
# first five runs, on every connection) then plans and runs 17 index scans instead of 58, in
# 3 ms instead of 5 (the default, ``partition``, tests only partitions and ``UNION ALL``
# members, not the scans inside them). A generic plan, which has no values, is unchanged.
SERVER_SETTINGS = {
    "timezone": "UTC",
    "max_parallel_workers_per_gather": "0",
    "constraint_exclusion": "on",
}
# A pooled connection idle for longer than this is checked before use (see ``ping_when_idle``).
IDLE_PING_SECONDS = 5.0


def create_engine(
    url: str,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        connect_args={"timeout": connect_timeout, "server_settings": SERVER_SETTINGS},
    )
    ping_when_idle(engine)
    return engine


def ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only when it has been idle for a while.

    SQLAlchemy's ``pool_pre_ping`` checks every checkout, and wraps the check in a transaction
    (for PgBouncer): three round trips before each request's first statement. A connection
    in steady use has just proved itself alive; one that sat idle may have been cut (a database
    restart, a proxy's idle timeout), and is replaced before anyone uses it.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError("an idle pooled connection was closed") from exc


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
        # Reads run outside transactions, which spares each one a BEGIN and a ROLLBACK round
        # trip. At READ COMMITTED each statement takes its own snapshot either way. Same pool.
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        super().__init__(AsyncDatabase(engine, reader, POSTGRESQL))
