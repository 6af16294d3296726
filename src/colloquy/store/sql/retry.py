"""A write transaction that loses a lock race is run again, whole, in a fresh transaction.

PostgreSQL aborts one transaction of a deadlock (SQLSTATE 40P01) and may refuse to commit one
it cannot serialise (40001); SQLite answers "database is locked" when another process holds
the write lock past the busy timeout. None of these says anything about the write itself: a
moment later it goes through. The lock order (store/sql/database.py) makes them rare; this keeps
the rare one from reaching the caller. Attempts are bounded and spaced by jittered, growing
pauses, so that the transactions that collided do not collide again in step.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

log = logging.getLogger(__name__)

# Runs of one write at most, and the longest pause between two (seconds). The pause before run
# n + 1 is drawn from [0, min(MAX_PAUSE, FIRST_PAUSE * 2**n)].
ATTEMPTS = 5
FIRST_PAUSE = 0.01
MAX_PAUSE = 0.5


def pause(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th run failed: full jitter, growing."""
    return random.uniform(0, min(MAX_PAUSE, FIRST_PAUSE * 2**attempt))  # noqa: S311 (no secret)


async def retried(run: Callable[[], Awaitable[T]], transient: Callable[[BaseException], bool]) -> T:
    """``run()``'s result; run again while it raises an error that ``transient`` accepts, up to
    ``ATTEMPTS`` runs in all (then the last error is raised)."""
    attempt = 1
    while True:
        try:
            return await run()
        except Exception as exc:
            if attempt >= ATTEMPTS or not transient(exc):
                raise
            log.info(
                "write transaction lost a lock race (%s), run %d of %d",
                _code(exc),
                attempt,
                ATTEMPTS,
            )
        await asyncio.sleep(pause(attempt))
        attempt += 1


def driver_error(error: BaseException) -> BaseException | None:
    """The driver's own error behind ``error``: wrapped by SQLAlchemy, and perhaps raised again
    as a store fault (``raise ... from``)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DBAPIError):
            return seen.orig
        seen = seen.__cause__
    return None


def _code(error: BaseException) -> str:
    """The database's code for ``error`` (never its text, which may quote the parameters)."""
    orig = driver_error(error)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    return str(code or type(orig or error).__name__)
