"""SQLite's reader threads: each keeps one pooled connection, and takes reads from one queue.

Every query, statistic and page is one read handed to these threads, so the hand-off is on
every such request. ``loop.run_in_executor`` on a ``ThreadPoolExecutor``, with a connection
checked out of the pool and back for each read, cost ~100 µs of CPU per read on 2 cores (a
micro-benchmark, 8 callers): ~70 µs the executor's two futures chained together and its thread
accounting, ~20 µs the checkout and check-in. Here a read is one item on a ``SimpleQueue`` and
one ``call_soon_threadsafe`` back to the caller's loop, and each thread keeps its connection
between reads, as the writer keeps its own (``ThreadedDatabase._transaction``).

What each read sees is unchanged: the connections are in autocommit (no transaction is left
open between reads: each ends SQLAlchemy's with ``rollback``, as the connection's close did),
so every statement sees the latest commit. A read that raises hands its connection back to the
pool, as before, and the thread's next read checks one out again.
"""

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine

from colloquy.store.sql.faults import translated
from colloquy.store.sql.group_commit import T, settle

_Read = tuple[Callable[[Connection], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class Readers:
    """``count`` threads, started at the first read, each with a connection of ``engine``'s
    (whose pool holds ``count``)."""

    def __init__(self, engine: Engine, count: int) -> None:
        self._engine = engine
        self._count = count
        self._reads: queue.SimpleQueue[_Read | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._starting = threading.Lock()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` on a reader thread's connection."""
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._reads.put((fn, loop, future))
        return await future

    async def each(self, fn: Callable[[Connection], Any]) -> None:
        """``fn`` on every thread's connection: each thread holds a read of it until every
        thread has taken one, so no thread takes two. A caller that gives up (a server shutting
        down while it prepares) breaks the barrier, so that no thread waits at it for a read
        that is skipped."""
        barrier = threading.Barrier(self._count)

        def on_this_thread(conn: Connection) -> None:
            barrier.wait()
            fn(conn)

        try:
            await asyncio.gather(*(self.read(on_this_thread) for _ in range(self._count)))
        except BaseException:
            barrier.abort()
            raise

    def close(self) -> None:
        """Let the reads already queued run, then stop the threads and close their connections."""
        for _ in self._threads:
            self._reads.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _start(self) -> None:
        with self._starting:
            if self._threads:
                return
            threads = [
                threading.Thread(target=self._serve, name=f"colloquy-reader-{i}", daemon=True)
                for i in range(self._count)
            ]
            for thread in threads:
                thread.start()
            self._threads = threads

    def _serve(self) -> None:
        conn: Connection | None = None
        while (item := self._reads.get()) is not None:
            fn, loop, future = item
            if future.cancelled():  # its caller has gone: nothing waits for the answer
                continue
            try:
                with translated():
                    if conn is None:
                        conn = self._engine.connect()
                    result = fn(conn)
                    conn.rollback()
            except BaseException as error:  # the caller's, as an executor hands it
                if conn is not None:
                    conn.close()
                    conn = None
                _settle_soon(loop, future, None, error)
            else:
                _settle_soon(loop, future, result, None)
        if conn is not None:
            conn.close()


def _settle_soon(
    loop: asyncio.AbstractEventLoop,
    future: "asyncio.Future[Any]",
    result: Any,
    error: BaseException | None,
) -> None:
    # A closed loop (RuntimeError) has no one waiting for the answer.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(settle, future, result, error)
