"""Group commit: write transactions that arrive while the writer is busy run together, as one.

SQLite has one writer. Under load, concurrent writes queue for it, and each pays for its own
``BEGIN`` and ``COMMIT`` and, worse, waits for the event loop between every statement it sends
to the driver's thread. Run back to back in one transaction, a group of writes shares one
commit (and the WAL pages they all touch), and the writer stays busy instead of waiting.

Each write is a job: an async function of the connection, the same code that would run in a
transaction of its own. Jobs in a group run one after another, so each sees the ones before it,
as it would have in separate transactions. If any job raises, the group rolls back and every job
runs again alone, so that each caller gets its own outcome, exactly as without grouping; but if
the group lost a lock race (``transient``: no job's fault), every caller gets that error, to run
again as a whole (store/sql/retry.py) rather than one by one, each meeting the same lock.
"""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")
Job = Callable[[AsyncConnection], Awaitable[T]]
Transaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
Transient = Callable[[BaseException], bool]

# Jobs committed together at most: a bound on what one failure makes run again.
MAX_GROUP = 64


def _never(_error: BaseException) -> bool:
    return False


class GroupCommit:
    """Runs jobs in transactions from ``begin``, grouping the ones that queue up."""

    def __init__(self, begin: Transaction, transient: Transient = _never) -> None:
        self._begin = begin
        self._transient = transient
        self._queue: list[tuple[Job[Any], asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, job: Job[T]) -> T:
        """``job``'s result once its transaction has committed (or its exception)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # A caller that gives up cancels its future: its job is skipped if it has not started.
        return await future

    async def close(self) -> None:
        """Wait for the jobs already queued."""
        if self._writer is not None:
            await self._writer

    async def _write(self) -> None:
        group: list[tuple[Job[Any], asyncio.Future[Any]]] = []
        try:
            while self._queue:
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                group = [(job, future) for job, future in group if not future.done()]
                if len(group) == 1:
                    await self._alone(*group[0])
                elif group:
                    await self._together(group)
        finally:
            # Only a cancelled writer leaves jobs behind; their callers must not wait forever.
            for _, future in (*group, *self._queue):
                future.cancel()
            self._queue.clear()

    async def _together(self, group: list[tuple[Job[Any], asyncio.Future[Any]]]) -> None:
        try:
            async with self._begin() as conn:
                results = [await job(conn) for job, _ in group]
        except Exception as exc:
            # Rolled back: nothing of the group was written.
            if self._transient(exc):
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                return
            for job, future in group:
                await self._alone(job, future)
            return
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _alone(self, job: Job[Any], future: asyncio.Future[Any]) -> None:
        if future.done():
            return
        try:
            async with self._begin() as conn:
                result = await job(conn)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)
