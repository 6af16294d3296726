"""The database behind the SQL store: its engines, the one way to read and the one way to write.

The rule for reads and writes: the store's SQL is plain (synchronous) code, functions of a
SQLAlchemy ``Connection``, and each store call hands its whole function to the database once:
``await database.read(fn)`` or ``await database.write(job)``. Nothing else opens a connection.
A statement then costs what the driver costs, and a call pays for one hand-off, not one per
statement. On SQLite (``ThreadedDatabase``) the hand-off is to a thread: reads to a small pool
of reader threads, writes to the one writer's thread (``group_commit``); a read of one short
indexed statement on every request (an API key's lookup) may be ``await database.glance(fn)``,
which on SQLite runs on the event loop's own connection, with no hand-off. On PostgreSQL
(``AsyncDatabase``) the function runs on asyncpg's async connection through ``run_sync``, the
event loop serving other requests while it waits for the server. Code handed over runs off the
event loop: what it shares with other calls (caches) takes a ``threading.Lock``.

The rule for writes: every write is ``await database.write(job)``, and nothing else opens a write
transaction. ``job(conn)`` does all of the write's work through ``conn`` and returns its answer;
it must be re-runnable, since it may run more than once (again after a lost lock race, or alone
after a group it shared failed), so it changes nothing outside ``conn``. Counters, status
transitions and caps are conditional statements done by the database
(``UPDATE ... WHERE status = 'pending' RETURNING``), never read-modify-write in Python. On
SQLite, which has one writer, jobs that queue for it run together in one transaction
(``group_commit``): a job that raises makes its group roll back and every job of it run again
alone, so a refusal that wrote nothing is better returned by the job and raised by its caller.

Lock order: every write transaction takes its locks in this one order, so that no two of them
ever wait for each other in a cycle (a deadlock):

1. the ``throttles`` row of the write allowance it spends, if any (``throttle.Allowances``):
   one row, that of the request's own key and action, so a transaction holds at most one and
   waits for it before holding anything else: it can close no cycle (the sign-in counts,
   several ``throttles`` rows in one transaction, are of other scopes and take nothing else);
2. the ``units`` row it changes (``UPDATE`` or ``SELECT ... FOR UPDATE``), or the rows it
   inserts; a transaction changes one existing unit at most;
3. that unit's ``unit_domains`` rows;
4. its ``flags`` and ``events`` rows (inserts; their foreign keys share the lock of step 2);
5. the kept counters, last: jobs ``Counters.add`` to their transaction's tally, which the
   transaction writes as it ends (once for a whole group): ``unit_counts`` by (key, shard),
   then ``daily_counts`` by (day, shard), then ``domain_counts`` by domain, each sorted.

On PostgreSQL a confirmation, a flag or a proposal takes steps 1 to 5 in one statement of
data-modifying CTEs (``evidence``, ``proposals``), each step fed the rows of the one before, so
the order holds there too (``evidence``'s docstring says why).

The counters come last because many writers add to the same few of them: a lock taken just
before the commit is held the shortest. Each write adds to one shard of ``unit_counts`` and
``daily_counts``, picked at random (tables.py), so writers seldom share one of those rows.
``domain_counts`` is not sharded (the statistics read its largest rows from an index), so an
approval in a popular domain still waits for the one before it: it comes last of all.
"""

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from colloquy.store.checkpoint import Checkpointer
from colloquy.store.protocol import DatabaseUnavailable
from colloquy.store.sql.counters import Counters
from colloquy.store.sql.dialects import Dialect
from colloquy.store.sql.faults import translated
from colloquy.store.sql.group_commit import GroupCommit, Job, T
from colloquy.store.sql.readers import Readers
from colloquy.store.sql.retry import retried

_PING = select(literal(1))


class Database(ABC):
    """One database and its dialect. Every connection is taken here, so driver faults become
    store faults here (``faults``)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.counters = Counters(dialect)
        """What write jobs add to the kept counters with (written as each transaction ends)."""
        self._lost_race = dialect.lost_lock_race

    @abstractmethod
    async def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` on a connection outside any transaction: each statement sees the latest
        committed state."""

    async def glance(self, fn: Callable[[Connection], T]) -> T:
        """``read``, for a function of one short indexed statement (a key's credential, on
        every agent's request) where the database can run it at once: see
        ``ThreadedDatabase.glance``."""
        return await self.read(fn)

    @abstractmethod
    async def write(self, job: Job[T]) -> T:
        """``job``'s answer once its write transaction has committed; see the module docstring
        for what ``job`` may do."""

    @abstractmethod
    async def each_reader(self, fn: Callable[[Connection], Any]) -> None:
        """Run ``fn`` on every pooled read connection (to prepare statements on each)."""

    @abstractmethod
    async def close(self) -> None:
        """Wait for the writes already queued, then close every connection."""

    async def ping(self) -> None:
        """Return once the database answers a statement."""
        await self.read(_ping)


def _ping(conn: Connection) -> None:
    conn.execute(_PING)


class ThreadedDatabase(Database):
    """Synchronous engines on threads of their own: reads on ``readers`` threads, each keeping
    a pooled connection (``readers``); writes on one writer's thread, grouped
    (``group_commit``); glances on the caller's own thread, on ``glance_engine``'s one
    connection (see ``glance``); WAL checkpoints on ``checkpointer``'s thread, told of each
    commit (``store.checkpoint``)."""

    def __init__(
        self,
        write_engine: Engine,
        read_engine: Engine,
        dialect: Dialect,
        readers: int,
        glance_engine: Engine,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        super().__init__(dialect)
        self.write_engine = write_engine
        self.read_engine = read_engine
        self.glance_engine = glance_engine
        self.checkpointer = checkpointer
        self._readers = Readers(read_engine, readers)
        self._group = GroupCommit(self._transaction, self._lost_race)
        self._glancing = threading.Lock()
        self._glance_conn: Connection | None = None
        # The writer's one connection, kept between transactions (used on its thread only).
        self._write_conn: Connection | None = None

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await self._readers.read(fn)

    async def glance(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on the event loop's thread, blocking it for the one statement: a hand-off to a
        reader thread and back costs several times what an indexed read of a row costs.

        It cannot block for long: outside a transaction, a WAL reader takes the latest committed
        state without waiting for the writer, and ``glance_engine``'s connection never waits
        for a lock (``busy_timeout`` 0): a database locked some other way (another process's
        exclusive lock, recovery) sends the read to a reader thread, which waits its turn. No
        transaction stays open between glances, so each sees every commit before it (a key
        revoked by any process fails its next request). One caller at a time: another thread's
        glance, meanwhile, goes to the readers too."""
        if self._glancing.acquire(blocking=False):
            try:
                return self._glance(fn)
            except DatabaseUnavailable as fault:
                if fault.__cause__ is None or not self._lost_race(fault.__cause__):
                    raise
            finally:
                self._glancing.release()
        return await self.read(fn)

    async def write(self, job: Job[T]) -> T:
        return await retried(lambda: self._group.run(job), self._lost_race)

    async def each_reader(self, fn: Callable[[Connection], Any]) -> None:
        await self._readers.each(fn)

    async def close(self) -> None:
        await self._group.close()
        if self._write_conn is not None:
            self._write_conn.close()
            self._write_conn = None
        self._readers.close()
        with self._glancing:
            if self._glance_conn is not None:
                self._glance_conn.close()
                self._glance_conn = None
        for engine in (self.write_engine, self.read_engine, self.glance_engine):
            engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.close()

    def _glance(self, fn: Callable[[Connection], T]) -> T:
        with translated():
            conn = self._glance_conn
            if conn is None:
                conn = self._glance_conn = self.glance_engine.connect()
            try:
                return fn(conn)
            finally:
                # Ends SQLAlchemy's transaction; the driver opened none (autocommit).
                conn.rollback()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on the writer's connection, which stays checked out between
        transactions: taking it from the pool and handing it back (with the pool's reset)
        for each group cost about a tenth of the writer thread's time (benchmarks/PROFILE.md,
        item 11). After a failed transaction it goes back to the pool (rolled back), and the
        next transaction checks one out again, as every transaction did before."""
        with translated():
            conn = self._write_conn
            if conn is None:
                conn = self._write_conn = self.write_engine.connect()
            try:
                with conn.begin(), self.counters.pending(conn):
                    yield conn
            except BaseException:
                self._write_conn = None
                conn.close()
                raise
            if self.checkpointer is not None:
                self.checkpointer.committed()


class AsyncDatabase(Database):
    """An async engine (asyncpg): each call's function runs on one of its connections through
    ``run_sync``; writes run alone, each in its own transaction."""

    def __init__(
        self, write_engine: AsyncEngine, read_engine: AsyncEngine, dialect: Dialect
    ) -> None:
        super().__init__(dialect)
        self.write_engine = write_engine
        self.read_engine = read_engine

    async def read(self, fn: Callable[[Connection], T]) -> T:
        with translated():
            async with self.read_engine.connect() as conn:
                return await conn.run_sync(fn)

    async def write(self, job: Job[T]) -> T:
        async def alone() -> T:
            with translated():
                async with self.write_engine.begin() as conn:
                    return await conn.run_sync(self._counted, job)

        return await retried(alone, self._lost_race)

    async def each_reader(self, fn: Callable[[Connection], Any]) -> None:
        pool_size: int = self.read_engine.pool.size()  # type: ignore[attr-defined]
        with translated():
            async with AsyncExitStack() as stack:
                for _ in range(pool_size):
                    conn = await stack.enter_async_context(self.read_engine.connect())
                    await conn.run_sync(fn)

    async def close(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()

    def _counted(self, conn: Connection, job: Job[T]) -> T:
        """``job`` in the open transaction of ``conn``, then what it added to the counters."""
        with self.counters.pending(conn):
            return job(conn)
