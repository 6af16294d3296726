"""The database behind the SQL store: its engines, the one way to read and the one way to write.

The rule for writes: every write is ``await database.write(job)``, and nothing else opens a write
transaction. ``job(conn)`` does all of the write's work through ``conn`` and returns its answer;
it must be re-runnable, since it may run more than once (again after a lost lock race, or alone
after a group it shared failed), so it changes nothing outside ``conn``. Counters, status
transitions and caps are conditional statements done by the database
(``UPDATE ... WHERE status = 'pending' RETURNING``), never read-modify-write in Python. Where
the dialect has one writer (SQLite), jobs that queue for it run together in one transaction
(``group_commit``): a job that raises makes its group roll back and every job of it run again
alone, so a refusal that wrote nothing is better returned by the job and raised by its caller.

Lock order: every write transaction takes its locks in this one order, so that no two of them
ever wait for each other in a cycle (a deadlock):

1. the ``units`` row it changes (``UPDATE`` or ``SELECT ... FOR UPDATE``), or the rows it
   inserts; a transaction changes one existing unit at most;
2. that unit's ``unit_domains`` rows;
3. its ``flags`` and ``events`` rows (inserts; their foreign keys share the lock of step 1);
4. the kept counters, last: jobs ``Counters.add`` to their transaction's tally, which the
   transaction writes as it ends (once for a whole group): ``unit_counts`` by (key, shard),
   then ``daily_counts`` by (day, shard), then ``domain_counts`` by domain, each sorted.

The counters come last because many writers add to the same few of them: a lock taken just
before the commit is held the shortest. Each write adds to one shard of ``unit_counts`` and
``daily_counts``, picked at random (tables.py), so writers seldom share one of those rows.
``domain_counts`` is not sharded (the statistics read its largest rows from an index), so an
approval in a popular domain still waits for the one before it: it comes last of all.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from colloquy.store.sql.counters import Counters
from colloquy.store.sql.dialects import Dialect
from colloquy.store.sql.faults import translated
from colloquy.store.sql.group_commit import GroupCommit, Job, T
from colloquy.store.sql.retry import retried

_PING = select(literal(1))


class Database:
    """The engines of one database and its dialect. Every connection is taken here, so driver
    faults become store faults here (``faults``)."""

    def __init__(
        self, write_engine: AsyncEngine, read_engine: AsyncEngine, dialect: Dialect
    ) -> None:
        self.write_engine = write_engine
        self.read_engine = read_engine
        self.dialect = dialect
        self.counters = Counters(dialect)
        """What write jobs add to the kept counters with (written as each transaction ends)."""
        self._lost_race = dialect.lost_lock_race
        self._group = (
            GroupCommit(self._transaction, self._lost_race) if dialect.one_writer else None
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads, outside any transaction: each statement sees the latest
        committed state."""
        async with translated(), self.read_engine.connect() as conn:
            yield conn

    async def write(self, job: Job[T]) -> T:
        """``job``'s answer once its write transaction has committed; see the module docstring
        for what ``job`` may do."""
        group = self._group
        if group is not None:
            return await retried(lambda: group.run(job), self._lost_race)

        async def alone() -> T:
            async with self._transaction() as conn:
                return await job(conn)

        return await retried(alone, self._lost_race)

    async def ping(self) -> None:
        """Return once the database answers a statement."""
        async with self.read() as conn:
            await conn.execute(_PING)

    async def close(self) -> None:
        """Wait for the writes already queued, then close every connection."""
        if self._group is not None:
            await self._group.close()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with (
            translated(),
            self.write_engine.begin() as conn,
            self.counters.pending(conn),
        ):
            yield conn
