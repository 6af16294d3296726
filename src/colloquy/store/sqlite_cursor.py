"""A cursor for SQLAlchemy's aiosqlite adapter that makes one trip to the driver's thread per
statement, and no trip for a rollback with no transaction open.

The stock adapter awaits aiosqlite for each step of a statement (open a cursor, execute, fetch,
close), and every await is a hand-off to aiosqlite's thread and back through the event loop.
For the small statements colloquy runs, those hand-offs cost several times the statement
itself. This cursor does all the steps in one call on that same thread; SQLAlchemy sees the
same buffered results as before.
"""

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT

_Outcome = tuple[list[Any], Any, int, int | None]


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No driver cursor is opened here: it lives only inside ``_run``.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:  # type: ignore[override]
        return self._lastrowid

    async def _async_soft_close(self) -> None:
        """Nothing stays open between statements."""

    def close(self) -> None:
        self._rows.clear()

    async def _call(self, operation: str, parameters: Any, many: bool) -> None:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await driver._execute(
                _run, driver._conn, operation, parameters, many
            )
        rows, self._description, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._call(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._call(operation, seq_of_parameters, many=True)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    def rollback(self) -> None:
        """No trip when there is nothing to roll back.

        SQLAlchemy rolls back on every release of a connection: after each autocommit read,
        and after each committed write. Only this connection's user can be running a statement
        on it, so reading its transaction state here cannot race one.
        """
        driver = self._connection._connection
        if driver is not None and not driver.in_transaction:
            return
        super().rollback()


def use_one_trip_cursors(dbapi_connection: Any) -> None:
    """Make a freshly opened adapted connection hand out ``OneTripCursor``s."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
