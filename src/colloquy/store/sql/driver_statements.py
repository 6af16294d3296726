"""Reads, and the writes that run most, run on the driver's own cursor: a statement compiled
once per dialect, then executed with its values in order and its rows decoded where a column
needs it.

``Connection.execute`` costs about 45 µs of CPU per statement of a few values on SQLite,
around the driver's own 8 µs (an execution context, the parameters built by name, the result
wrapped), and 250-300 µs for a ranked round's 150 values, where the driver's cursor costs
20-30 µs more than the bare driver. The ranked query runs a few statements of a few fixed
shapes, each with plain values and a handful of rows, so for them that machinery was most of
the Python cost. Here each statement is compiled by SQLAlchemy once per dialect
(``Compiled``: the SQL text it sends, the names of its positional parameters in order and
their bind processors) and executed on the DBAPI cursor of the connection: pysqlite's, or
SQLAlchemy's adapted asyncpg cursor, which runs synchronously inside ``run_sync``'s greenlet.
The SQL text is SQLAlchemy's own, so the plans and each connection's cache of prepared
statements are those of ``Connection.execute``.

What SQLAlchemy does besides, this keeps: each column's result processor (SQLAlchemy's, for
the column's type and the driver's type code: text dates and JSON on SQLite; none for the
ints, floats and text the ranking reads), listeners of ``before_cursor_execute`` (the SQL floor,
benchmarks/sql_floor.py, records every statement there), and the handling of driver errors
(wrapped as ``DBAPIError``, a lost connection invalidated).

Writes (``execute``, and ``fetch`` for one with ``RETURNING``) are compiled as
``Connection.execute`` compiles them: for the names of their parameters (an ``INSERT`` sets
the columns it is given values for), and for ``executemany`` when given more than one row. A
write that SQLAlchemy would run otherwise than as compiled (several rows inserted in one
statement, ``insertmanyvalues``; a column's Python-side default computed first) is handed to
``Connection.execute``. On SQLite's writer thread a statement's ``Connection.execute`` cost
about as much as the driver's execution of it (benchmarks/PROFILE.md, items 11 and 13).
"""

import threading
from collections import namedtuple
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import SelectBase

Processor = Callable[[Any], Any]
Statement = SelectBase | UpdateBase
# Statements kept (each a few tens of kB): every shape's, and then some (shapes are cached with
# bounds too, and a statement rebuilt by its own cache, or run on another engine, is a new key).
KEPT = 2_048


class Compiled:
    """One statement as its dialect runs it: ``sql``, the positional parameters it takes
    (``values``), and the type of its rows, named as the statement's columns. The columns'
    decoders are found at its first execution, from the driver's description of them."""

    __slots__ = (
        "_constants",
        "_items",
        "_names",
        "_processors",
        "_types",
        "direct",
        "row",
        "sql",
    )

    def __init__(
        self, compiled: SQLCompiler, statement: "_Statement", params: Mapping[str, Any]
    ) -> None:
        # The text and the order of the parameters, with every list expanded for its length.
        expanded = compiled.construct_expanded_state(dict(params), escape_names=False)
        names = tuple(expanded.positiontup or ())
        self.sql = expanded.statement
        self._names = names
        # Each list's elements, by the names of the parameters it expands into.
        self._items = tuple(
            (name, listed, index)
            for listed, expanded_names in expanded.parameter_expansion.items()
            for index, name in enumerate(expanded_names)
        )
        # The statement's own values (literals such as ``case``'s results), by name.
        given = {*params, *(name for name, _, _ in self._items)}
        self._constants = {n: expanded.parameters[n] for n in names if n not in given}
        # Each value's bind processor, as SQLAlchemy's execution merges them: the statement's
        # (``_bind_processors``: a list's is a tuple per element type when it is of tuples),
        # and the expanded elements'.
        processors = {**compiled._bind_processors, **expanded.processors}
        self._processors = tuple(
            (i, process)
            for i, name in enumerate(names)
            if callable(process := processors.get(name))
        )
        self.row = statement.row
        self._types = statement.types
        self.direct = not (
            compiled._insertmanyvalues or compiled.insert_prefetch or compiled.update_prefetch
        )
        """Whether the driver runs it as compiled (see the module docstring)."""

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        """``params`` as the positional values the driver takes."""
        named = params
        if self._constants or self._items:
            named = {**self._constants, **params}
            for name, listed, index in self._items:
                named[name] = params[listed][index]
        values = [named[name] for name in self._names]
        for i, process in self._processors:
            values[i] = process(values[i])
        return values

    def rows(
        self, fetched: Sequence[Sequence[Any]], description: Any, dialect: Dialect, decode: bool
    ) -> list:
        """The driver's rows as ``row`` tuples; with ``decode``, each column decoded where it
        needs to be (else by ``decoded``, later)."""
        decoders = self.row._decoders
        if decoders is None:  # whichever thread is first finds them (the same for every one)
            decoders = self.row._decoders = self._decoders_for(description, dialect)
        if not (decode and decoders):
            return list(map(self.row._make, fetched))
        return [_decoded(row, decoders, self.row._make) for row in fetched]

    def _decoders_for(
        self, description: Any, dialect: Dialect
    ) -> tuple[tuple[int, Processor], ...]:
        """SQLAlchemy's result processors of the columns that have one (as its own result
        finds them: by type, and the driver's type code of the column)."""
        found = (
            (index, type_.result_processor(dialect, column[1]))
            for index, (type_, column) in enumerate(zip(self._types, description, strict=True))
        )
        return tuple((index, decode) for index, decode in found if decode is not None)


class _Statement:
    """A statement for a dialect, and its ``Compiled`` forms, one per length of each of its
    lists (expanding parameters). SQLAlchemy's compiled statement is not kept: a form is a
    tenth of its size, and a form for new lengths (rare) compiles it again."""

    __slots__ = ("compile_options", "dialect", "forms", "lists", "row", "statement", "types")

    def __init__(
        self,
        statement: Statement,
        dialect: Dialect,
        params: Mapping[str, Any],
        compile_options: Mapping[str, Any],
    ) -> None:
        self.statement = statement
        self.dialect = dialect
        self.compile_options = compile_options
        compiled = self._compiled()
        self.lists = tuple(name for bind, name in compiled.bind_names.items() if bind.expanding)
        # A query's columns, or those a write returns.
        columns = list(statement.exported_columns)
        # Named by column; an unnamed or repeated column by its position (``_0``, ``_1``...).
        # Its columns' decoders (``_decoders``) are found at its first execution: the rows
        # carry them, for ``decoded``.
        self.row = namedtuple("Row", [c.key or "" for c in columns], rename=True)
        self.row._decoders = None
        self.types = [c.type.dialect_impl(dialect) for c in columns]
        self.forms = {self._lengths(params): Compiled(compiled, self, params)}

    def form(self, params: Mapping[str, Any]) -> Compiled:
        """The form for the lengths of the lists in ``params``."""
        lengths = self._lengths(params)
        form = self.forms.get(lengths)
        if form is None:
            form = Compiled(self._compiled(), self, params)
            with _adding:
                form = self.forms.setdefault(lengths, form)
        return form

    def _lengths(self, params: Mapping[str, Any]) -> tuple[int, ...]:
        return tuple(len(params[name]) for name in self.lists)

    def _compiled(self) -> SQLCompiler:
        compiled = self.statement.compile(dialect=self.dialect, **self.compile_options)
        assert isinstance(compiled, SQLCompiler)
        return compiled


_statements: dict[Hashable, _Statement] = {}
# Taken to add to ``_statements`` and to their forms; reader threads look entries up without
# it (a dict's get is atomic, and an entry is complete before it is added).
_adding = threading.Lock()


def compiled(
    conn: Connection, statement: Statement, params: Mapping[str, Any], many: bool = False
) -> Compiled:
    """``statement`` compiled for ``conn``'s dialect and the lengths of the lists in
    ``params`` (a write: for their names, and for ``executemany`` if ``many``): once per
    process, then shared by every thread."""
    # Keyed (what, dialect): a write's "what" is the statement with its parameters' names.
    what: Hashable = statement
    options: dict[str, Any] = {}
    if statement.is_dml:
        names = sorted(params)
        what = (statement, *names, many)
        options = {"column_keys": names, "for_executemany": many}
    key = (what, conn.dialect)
    found = _statements.get(key)
    if found is None:
        found = _Statement(statement, conn.dialect, params, options)
        with _adding:
            if len(_statements) >= KEPT:
                _statements.clear()
            found = _statements.setdefault(key, found)
    return found.form(params)


def fetch(
    conn: Connection, statement: Statement, params: Mapping[str, Any], decode: bool = True
) -> list[Any]:
    """Every row of ``statement`` with ``params`` on ``conn`` (a query's, or those a write
    returns), as tuples named by its columns (``Compiled.row``); without ``decode``, their
    columns as the driver gave them, until ``decoded``: for rows most of which will be dropped
    unseen."""
    shape = compiled(conn, statement, params)
    fetched, description = _run(conn, shape.sql, shape.values(params), False, True)
    return shape.rows(fetched, description, conn.dialect, decode)


def execute(
    conn: Connection, statement: UpdateBase, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> None:
    """``statement``, a write that returns no rows, with ``params`` on ``conn``; given a list,
    once for each of its elements (every element with the same names), as
    ``Connection.execute`` runs it: the driver's ``executemany`` for more than one."""
    rows = [params] if isinstance(params, Mapping) else params
    many = len(rows) > 1
    shape = compiled(conn, statement, rows[0], many)
    if not shape.direct:
        conn.execute(statement, params)
    elif many:
        _run(conn, shape.sql, [shape.values(row) for row in rows], True, False)
    else:
        _run(conn, shape.sql, shape.values(rows[0]), False, False)


def _run(
    conn: Connection, sql: str, values: Sequence[Any], many: bool, returns: bool
) -> tuple[list[Any], Any]:
    """``sql`` with ``values`` (a list of them if ``many``) on a cursor of ``conn``'s driver
    connection, as SQLAlchemy runs it; the rows and their description if it ``returns`` any."""
    fetched: list[Any] = []
    description = None
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        hooks = conn.dispatch.before_cursor_execute
        if hooks:
            for hook in hooks:
                sql, values = hook(conn, cursor, sql, values, None, many)
        if many:
            cursor.executemany(sql, values)
        else:
            cursor.execute(sql, values)
        if returns:
            fetched = cursor.fetchall()
            description = cursor.description
    except Exception as error:
        # SQLAlchemy's own handling: the error wrapped, a lost connection invalidated.
        conn._handle_dbapi_exception(error, sql, values, cursor, None)
    finally:
        cursor.close()
    return fetched, description


def decoded(rows: Sequence[Any]) -> list[Any]:
    """Rows of ``fetch`` without ``decode``, decoded as ``fetch`` would have decoded them."""
    return [_decoded(row, row._decoders, row._make) if row._decoders else row for row in rows]


def _decoded(
    row: Sequence[Any], decoders: Sequence[tuple[int, Processor]], make: Callable[..., Any]
) -> Any:
    """``row``'s values decoded, made into a row by ``make`` once (not made, then made again)."""
    values = list(row)
    for index, decode in decoders:
        values[index] = decode(values[index])
    return make(values)
