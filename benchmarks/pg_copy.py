"""A PostgreSQL benchmark corpus copied from the cached SQLite one with ``COPY``.

Loading a million units through ``Store.import_units`` takes PostgreSQL most of an hour; the
SQLite corpus of the same size, seed and schema is cached (``run.cached_sqlite``). Both backends
keep one schema (``store/tables.py``, the migrations), so the PostgreSQL corpus is that cache's
rows, table by table, streamed with ``COPY`` into a database migrated to head, and the result is
what ``import_units`` leaves:

- rows in the order they were inserted (SQLite's rowid order), cut into runs of neighbouring
  rows that the copiers take in turn, so that tables lie on disk much alike;
- the full-text vectors ``units.search`` and ``units.tag_search`` are generated columns, which
  PostgreSQL computes itself as the rows arrive;
- identity sequences go on after the copied ids, and tables SQLite keeps an autoincrement high
  mark for (users) past that mark too;
- the kept counters are copied as SQLite keeps them, in shard 0: the same sums, over fewer
  rows than ``import_units`` spreads them on (each of its transactions picks a random shard).

Constraints and indexes are dropped before the copy and made again after it from their own
definitions (one sorted build each instead of millions of insertions), each step in one
transaction; a copy that fails half-way leaves a database to drop, as a failed load does.

    python -m benchmarks.pg_copy --sqlite benchmarks/.work/sqlite-….db --url postgresql://…
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Date, Table
from sqlalchemy.engine import make_url

from benchmarks.load import progress_bar
from colloquy.store import migrate
from colloquy.store import tables as t

# Rows read from SQLite and handed to COPY at a time.
CHUNK = 5_000
# Rowids per COPY statement; and connections copying at once.
PIECE = 20_000
COPIERS = os.cpu_count() or 2
# Memory for each index build (this session only): a big sort in one pass.
INDEX_BUILD_MEMORY = "1GB"

# Every constraint and index of colloquy's tables, with the statement that makes it again;
# foreign keys first (they lean on the other two), and made again last.
_FOREIGN_KEYS = """
SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', cls.relname, con.conname),
       format('ALTER TABLE %I ADD CONSTRAINT %I %s', cls.relname, con.conname,
              pg_get_constraintdef(con.oid))
FROM pg_constraint con JOIN pg_class cls ON cls.oid = con.conrelid
WHERE con.contype = 'f' AND cls.relname = ANY($1::text[])
  AND cls.relnamespace = current_schema()::regnamespace
ORDER BY cls.relname, con.conname
"""
_KEYS = _FOREIGN_KEYS.replace("con.contype = 'f'", "con.contype IN ('p', 'u')")
_INDEXES = """
SELECT format('DROP INDEX %I', idx.relname), pg_get_indexdef(ind.indexrelid)
FROM pg_index ind JOIN pg_class idx ON idx.oid = ind.indexrelid
JOIN pg_class cls ON cls.oid = ind.indrelid
WHERE cls.relname = ANY($1::text[]) AND cls.relnamespace = current_schema()::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ind.indexrelid)
ORDER BY cls.relname, idx.relname
"""
# Serial and identity columns: the sequence behind each, if any.
_SEQUENCES = """
SELECT cls.relname, att.attname, pg_get_serial_sequence(quote_ident(cls.relname), att.attname)
FROM pg_attribute att JOIN pg_class cls ON cls.oid = att.attrelid
WHERE cls.relname = ANY($1::text[]) AND cls.relnamespace = current_schema()::regnamespace
  AND att.attnum > 0 AND NOT att.attisdropped
  AND pg_get_serial_sequence(quote_ident(cls.relname), att.attname) IS NOT NULL
"""


def _utc(value: str | None) -> datetime | None:
    """SQLite's naive UTC text as the aware datetime a ``timestamptz`` takes."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _converter(table: Table) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """What turns a SQLite row of ``table`` into the values asyncpg's COPY takes: the types
    that SQLite keeps as text (timestamps, dates); JSON stays text, which ``jsonb`` parses."""
    fixes: dict[int, Callable[[Any], Any]] = {}
    for index, column in enumerate(table.columns):
        if isinstance(column.type, t.UtcDateTime):
            fixes[index] = _utc
        elif isinstance(column.type, Date):
            fixes[index] = _day
    if not fixes:
        return None
    return lambda row: tuple(fixes[i](v) if i in fixes else v for i, v in enumerate(row))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class _Piece:
    """The rows of ``table`` whose rowid is in (``after``, ``upto``]: what one COPY carries."""

    table: Table
    after: int
    upto: int


def _pieces(source: sqlite3.Connection, tables: Sequence[Table]) -> list[_Piece]:
    """Every non-empty table cut into runs of ``PIECE`` rowids, in insertion order: taken in
    turn by the copiers, neighbouring rows land near one another in PostgreSQL too."""
    pieces = []
    for table in tables:
        # Constants only: the names come from the table metadata.
        low, high = source.execute(
            f"SELECT min(rowid), max(rowid) FROM {_quoted(table.name)}"  # noqa: S608
        ).fetchone()
        if high is not None:
            pieces += [_Piece(table, a, a + PIECE) for a in range(low - 1, high, PIECE)]
    return pieces


async def _rows(
    source: sqlite3.Connection, piece: _Piece, advance: Callable[[int], None]
) -> AsyncIterator[tuple[Any, ...]]:
    """The rows of ``piece`` in insertion order, converted, calling ``advance`` per chunk."""
    columns = ", ".join(_quoted(c.name) for c in piece.table.columns)
    convert = _converter(piece.table)
    cursor = source.execute(
        # Constants only: the names come from the table metadata.
        f"SELECT {columns} FROM {_quoted(piece.table.name)} "  # noqa: S608
        "WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
        (piece.after, piece.upto),
    )
    while chunk := cursor.fetchmany(CHUNK):
        for row in chunk if convert is None else map(convert, chunk):
            yield row
        advance(len(chunk))


def _dsn(url: str) -> str:
    """asyncpg's connection string for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _open_source(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


async def _copier(
    path: Path, dsn: str, pieces: deque[_Piece], advance: Callable[[int], None]
) -> None:
    """One connection copying pieces until none is left."""
    conn = await asyncpg.connect(dsn)
    try:
        with closing(_open_source(path)) as source:
            while pieces:
                piece = pieces.popleft()
                await conn.copy_records_to_table(
                    piece.table.name,
                    records=_rows(source, piece, advance),
                    columns=[c.name for c in piece.table.columns],
                )
    finally:
        await conn.close()


async def _autovacuum(conn: asyncpg.Connection, names: Sequence[str], change: str) -> None:
    for name in names:
        await conn.execute(f"ALTER TABLE {_quoted(name)} {change}")


def _check_revision(source: sqlite3.Connection) -> None:
    (revision,) = source.execute("SELECT version_num FROM alembic_version").fetchone()
    if revision != migrate.head_revision():
        raise ValueError(f"the SQLite corpus is at revision {revision}, not at head")


async def _continue_sequences(conn: asyncpg.Connection, source: sqlite3.Connection) -> None:
    """Each sequence after its column's largest id, or SQLite's autoincrement mark if higher
    (ids of deleted rows are never given out again)."""
    marks = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    names = [table.name for table in t.metadata.sorted_tables]
    for table, column, sequence in await conn.fetch(_SEQUENCES, names):
        # Constants only: the names come from the catalogue.
        largest = await conn.fetchval(f"SELECT max({_quoted(column)}) FROM {_quoted(table)}")  # noqa: S608
        last = max(largest or 0, marks.get(table, 0))
        if last:
            await conn.execute("SELECT setval($1, $2)", sequence, last)


async def copy_corpus(
    sqlite_path: Path, url: str, copiers: int = COPIERS, progress: bool = True
) -> float:
    """Migrate the empty PostgreSQL database at ``url`` to head and copy into it every row of
    the SQLite corpus at ``sqlite_path`` (never written to), over ``copiers`` connections at
    once (PostgreSQL's work, the text vectors above all, is then spread over its cores); the
    seconds it took. A copy that fails leaves a database to drop."""
    started = time.perf_counter()
    await migrate.upgrade(url)
    tables: Sequence[Table] = t.metadata.sorted_tables
    names = [table.name for table in tables]
    dsn = _dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        with closing(_open_source(sqlite_path)) as source:
            _check_revision(source)
            # Constants only: the names come from the table metadata.
            rows = sum(
                source.execute(f"SELECT count(*) FROM {_quoted(n)}").fetchone()[0]  # noqa: S608
                for n in names
            )
            pieces = deque(_pieces(source, tables))
            async with conn.transaction():
                # What migrations seed (tag aliases) is in the corpus too.
                await conn.execute(f"TRUNCATE {', '.join(map(_quoted, names))} RESTART IDENTITY")
                rebuilt = [
                    pair
                    for query in (_FOREIGN_KEYS, _INDEXES, _KEYS)
                    for pair in await conn.fetch(query, names)
                ]
                for drop, _ in rebuilt:
                    await conn.execute(drop)
                # Autovacuum would analyse the growing tables again and again meanwhile.
                await _autovacuum(conn, names, "SET (autovacuum_enabled = false)")
            with progress_bar(progress) as bar:
                task = bar.add_task(f"copying {rows:,} rows", total=rows)
                advance = functools.partial(bar.advance, task)
                async with asyncio.TaskGroup() as group:
                    for _ in range(copiers):
                        group.create_task(_copier(sqlite_path, dsn, pieces, advance))
                task = bar.add_task("indexes and constraints", total=len(rebuilt))
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
                    for _, make in reversed(rebuilt):
                        await conn.execute(make)
                        bar.advance(task)
                    await _autovacuum(conn, names, "RESET (autovacuum_enabled)")
                    await _continue_sequences(conn, source)
    finally:
        await conn.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, required=True, help="the SQLite corpus to copy")
    parser.add_argument("--url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--copiers", type=int, default=COPIERS, help="connections at once")
    args = parser.parse_args()
    seconds = asyncio.run(copy_corpus(args.sqlite, args.url, args.copiers))
    print(f"copied in {seconds:.1f} s")


if __name__ == "__main__":
    main()
