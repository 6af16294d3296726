"""Group commit: write transactions that arrive while the writer is busy run together, as one,
in one hand-off to the writer's thread.

SQLite has one writer. Under load, concurrent writes queue for it, and each would pay for its
own ``BEGIN`` and ``COMMIT``, and for a trip from the event loop to a thread and back. Run back
to back in one transaction, a group of writes shares one commit (and the WAL pages they all
touch) and one trip: the writer's thread runs the whole group (``BEGIN IMMEDIATE``, every job,
the counters, ``COMMIT``) in one call, and the event loop only queues jobs and hands out what
came of them.

Each write is a job: a plain function of a synchronous connection, the same code that would run
in a transaction of its own. Jobs in a group run one after another, so each sees the ones before
it, as it would have in separate transactions. If any job raises, the group rolls back and every
job runs again alone, still in that one call, so that each caller gets its own outcome, exactly
as without grouping; but if the group lost a lock race (``transient``: no job's fault), every
caller gets that error, to run again as a whole (store/sql/retry.py) rather than one by one, each
meeting the same lock. A caller that gave up (cancelled) before its job started is skipped.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")
Job = Callable[[Connection], T]
Transaction = Callable[[], AbstractContextManager[Connection]]
Transient = Callable[[BaseException], bool]

# Jobs committed together at most: a bound on what one failure makes run again.
MAX_GROUP = 64

_Queued = tuple[Job[Any], asyncio.Future[Any]]
# What came of a job: its result, or the exception it raised.
_Outcome = tuple[Any, BaseException | None]


def _never(_error: BaseException) -> bool:
    return False


def settle(future: "asyncio.Future[Any]", result: Any, error: BaseException | None) -> None:
    """``future``'s answer from a thread's outcome, unless its caller has given up on it."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class GroupCommit:
    """Runs jobs in transactions from ``begin`` on one thread of its own, grouping the ones
    that queue up."""

    def __init__(self, begin: Transaction, transient: Transient = _never) -> None:
        self._begin = begin
        self._transient = transient
        self._queue: list[_Queued] = []
        self._writer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="colloquy-writer")

    async def run(self, job: Job[T]) -> T:
        """``job``'s result once its transaction has committed (or its exception)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # A caller that gives up cancels its future: its job is skipped if it has not started.
        return await future

    async def close(self) -> None:
        """Wait for the jobs already queued, then let the writer's thread go."""
        if self._writer is not None:
            await self._writer
        self._thread.shutdown()

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        group: list[_Queued] = []
        try:
            while self._queue:
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                group = [(job, future) for job, future in group if not future.done()]
                if not group:
                    continue
                outcomes = await loop.run_in_executor(self._thread, self._commit, group)
                for (_, future), (result, error) in zip(group, outcomes, strict=True):
                    settle(future, result, error)
        finally:
            # Only a cancelled writer leaves jobs behind; their callers must not wait forever.
            for _, future in (*group, *self._queue):
                future.cancel()
            self._queue.clear()

    # The rest runs on the writer's thread; it only reads the futures (``cancelled``).

    def _commit(self, group: list[_Queued]) -> list[_Outcome]:
        if len(group) == 1:
            return [self._alone(*group[0])]
        try:
            with self._begin() as conn:
                outcomes = [
                    (None if future.cancelled() else job(conn), None) for job, future in group
                ]
        except Exception as exc:
            # Rolled back: nothing of the group was written.
            if self._transient(exc):
                return [(None, exc)] * len(group)
            return [self._alone(job, future) for job, future in group]
        return outcomes

    def _alone(self, job: Job[Any], future: asyncio.Future[Any]) -> _Outcome:
        if future.cancelled():
            return None, None
        try:
            with self._begin() as conn:
                return job(conn), None
        except Exception as exc:
            return None, exc
