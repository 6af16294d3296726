"""Driver errors that mean "the database is away" or "the disk is full", turned into the store's
``DatabaseUnavailable`` and ``StorageFull`` in this one place.

Both drivers name their errors by code: SQLite's result code (``sqlite_errorcode``), PostgreSQL's
SQLSTATE (``sqlstate``, kept by SQLAlchemy's asyncpg adapter too). A refused or timed-out connect
reaches us as the socket's own ``OSError``, and an exhausted pool as SQLAlchemy's timeout.
Everything else (constraint violations, deadlocks, bugs) passes through unchanged.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from colloquy.store.protocol import DatabaseUnavailable, StorageFull, StoreFault

# SQLite primary result codes (the low byte of an extended code).
SQLITE_BUSY = 5  # another process held the write lock past busy_timeout
SQLITE_IOERR = 10
SQLITE_FULL = 13  # "database or disk is full"
SQLITE_CANTOPEN = 14
SQLITE_UNAVAILABLE = frozenset({SQLITE_BUSY, SQLITE_IOERR, SQLITE_CANTOPEN})

PG_DISK_FULL = "53100"
# Connection exceptions (class 08), shutdown or start-up in progress, no connection slots or
# memory left (class 53 but disk_full).
PG_UNAVAILABLE_CLASSES = ("08", "53")
PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03"})


def _driver_error(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def fault_of(exc: BaseException) -> StoreFault | None:
    """The store fault that ``exc`` means, or None if it is not one."""
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable("no database connection became free in time")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailable("the database connection was lost")
    cause = _driver_error(exc)
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(code, int):
        if code & 0xFF == SQLITE_FULL:
            return StorageFull(str(cause))
        if code & 0xFF in SQLITE_UNAVAILABLE:
            return DatabaseUnavailable(str(cause))
        return None
    state = getattr(cause, "sqlstate", None)
    if isinstance(state, str):
        if state == PG_DISK_FULL:
            return StorageFull(str(cause))
        if state.startswith(PG_UNAVAILABLE_CLASSES) or state in PG_UNAVAILABLE:
            return DatabaseUnavailable(str(cause))
        return None
    if isinstance(cause, OSError):  # connection refused, unreachable host, connect timeout
        return DatabaseUnavailable(f"cannot connect to the database: {cause}")
    return None


@contextmanager
def translated() -> Iterator[None]:
    """Run the block; a driver error that is a store fault leaves it as that fault. (A plain
    ``with``, so that it serves the code run on the database's threads and the awaits of the
    event loop alike.)"""
    try:
        yield
    except Exception as exc:
        fault = fault_of(exc)
        if fault is None:
            raise
        raise fault from exc
