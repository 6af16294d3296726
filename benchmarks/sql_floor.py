"""The SQL floor of a query workload: what the statements behind its queries cost on the bare
driver, measured on the same corpus in the same run as the HTTP workload.

A query's CPU per request is judged against the SQL it cannot do without (issue 16: at most
twice the floor), not against health's, because that SQL differs so much between rankings.
For a sample of the workload's queries (the load generator's first requests: same factory,
same seeds), the store answers each query in this process, once to warm its caches as a
running server's are warm, then again with every statement it sends to the database recorded
(SQLAlchemy's ``before_cursor_execute``: the final SQL text and parameters the driver gets;
the ranking's statements, which run on the driver's cursor, fire it as well:
``store/sql/driver_statements.py``).
Those statements are then replayed, in order, on a connection of the bare driver (``sqlite3``;
``asyncpg`` with the store's session settings; on SQLite, the library set as a server sets it,
its memory statistics off: ``store/sqlite_memory.py``), executing each and fetching all its
rows: once to warm the connection's statement cache, then ``PASSES`` times timed.

The floor is the CPU milliseconds per query of a timed pass (the median pass): on SQLite the
replaying thread's CPU (``time.thread_time``: SQLite runs in it); on PostgreSQL that plus the
database server's (the CPU of every process under the postmaster, read from ``/proc`` as
``server.CpuMeter`` does; the replay is the only client then). The API key's lookup is not in
it: the floor is the query's own SQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from benchmarks import loadgen, workloads
from benchmarks.server import cpu_seconds, process_tree
from benchmarks.workloads import Credentials
from colloquy.config import Settings
from colloquy.domain.ranking import Ranking
from colloquy.services.knowledge import KnowledgeService
from colloquy.store.factory import is_postgres, open_store
from colloquy.store.postgres import SERVER_SETTINGS
from colloquy.store.sqlite import database_path
from colloquy.store.sqlite_memory import statistics_off, switch_off_statistics

WORKLOADS = ("query", "query_q", "query_cq")
SAMPLE = 300
PASSES = 3
_READS = ("SELECT", "WITH")

Statement = tuple[str, Sequence[Any]]
Rows = list[list[Sequence[Any]]]
"""Per query, per statement, the rows it returned."""


@dataclass(frozen=True)
class Captured:
    """One query's statements in the order the store sent them, and the ids it answered."""

    statements: list[Statement]
    answer: list[str]


@dataclass(frozen=True)
class Pass:
    """CPU seconds of one timed replay: the driver's thread, and the database server's."""

    driver: float
    database: float | None

    @property
    def seconds(self) -> float:
        return self.driver + (self.database or 0.0)


def sample(
    workload: str, seed: int, count: int = SAMPLE, concurrency: int = 8
) -> list[dict[str, Any]]:
    """The first ``count`` queries of ``workload``'s load (taken in turn from each of the
    ``concurrency`` workers' request sequences) as ``KnowledgeService.query`` arguments."""
    factory = workloads.factories(Credentials("", "", []), seed)[workload]
    rngs = [loadgen.worker_rng(index) for index in range(concurrency)]
    return [query_args(factory(rngs[i % concurrency]).path) for i in range(count)]


def query_args(path: str) -> dict[str, Any]:
    """A ``GET /api/v1/knowledge`` path's query string as the route hands it to the service."""
    args: dict[str, Any] = {"domains": [], "languages": [], "frameworks": [], "pattern": "",
                            "limit": 5, "q": ""}  # fmt: skip
    for name, value in parse_qsl(urlsplit(path).query):
        if isinstance(args[name], list):
            args[name].append(value)
        else:
            args[name] = int(value) if name == "limit" else value
    return args


def ranking_of(workload: str) -> Ranking:
    """The ranking the workload's server runs with (``workloads.SETTINGS``, else the default)."""
    configured = dict(workloads.settings_of(workload)).get("CQ_RANKING")
    return Ranking(configured) if configured else Settings.model_fields["ranking"].default


async def capture(url: str, ranking: Ranking, queries: list[dict[str, Any]]) -> list[Captured]:
    """Each query answered by the store on ``url``, with the statements it sent (a first,
    unrecorded round warms the store's caches, as a serving process has them warm)."""
    store = open_store(url)
    try:
        knowledge = KnowledgeService(store, ranking)
        for args in queries:
            await knowledge.query(**args)
        engine = _sync_engine(store.database.read_engine)  # type: ignore[attr-defined]
        sent: list[Statement] = []

        def record(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, executemany: bool
        ) -> None:
            if executemany or not statement.lstrip().upper().startswith(_READS):
                raise ValueError(f"a query sent more than a read: {statement[:80]!r}")
            sent.append((statement, tuple(parameters or ())))

        captured = []
        event.listen(engine, "before_cursor_execute", record)
        try:
            for args in queries:
                units = await knowledge.query(**args)
                captured.append(Captured(list(sent), [unit.id for unit in units]))
                sent.clear()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return captured
    finally:
        await store.close()


def _sync_engine(engine: Any) -> Engine:
    """The synchronous engine that runs the statements (PostgreSQL's async one wraps it)."""
    return getattr(engine, "sync_engine", engine)


def replay_sqlite(url: str, captured: list[Captured], passes: int) -> tuple[Rows, list[Pass]]:
    """The statements on a bare ``sqlite3`` connection: the rows of a first (warming) pass,
    and the CPU of ``passes`` more."""
    path = database_path(make_url(url))
    if path is None:
        raise ValueError("the floor is measured on a database file, not in memory")
    switch_off_statistics()  # as a server does (``measure`` reports whether it could here)
    # Autocommit, as the store's read connections: no transaction around the reads.
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:

        def one_pass() -> Rows:
            return [
                [conn.execute(sql, params).fetchall() for sql, params in query.statements]
                for query in captured
            ]

        return _timed(one_pass, passes, None)


def replay_postgres(
    url: str, captured: list[Captured], passes: int, database_pid: int | None
) -> tuple[Rows, list[Pass]]:
    """As ``replay_sqlite``, on a bare ``asyncpg`` connection with the store's session
    settings, on an event loop in this thread (so that its CPU is this thread's); with the
    postmaster's ``database_pid``, the database server's CPU too."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with closing(asyncio.new_event_loop()) as loop:
        conn = loop.run_until_complete(asyncpg.connect(dsn, server_settings=SERVER_SETTINGS))

        async def statements() -> Rows:
            return [
                [await conn.fetch(sql, *params) for sql, params in query.statements]
                for query in captured
            ]

        try:
            return _timed(lambda: loop.run_until_complete(statements()), passes, database_pid)
        finally:
            loop.run_until_complete(conn.close())


def _timed(
    one_pass: Callable[[], Rows], passes: int, database_pid: int | None
) -> tuple[Rows, list[Pass]]:
    """The rows of a warming pass, then the CPU of each of ``passes`` timed ones."""
    rows = one_pass()
    timed = []
    for _ in range(passes):
        database = _tree_cpu(database_pid)
        driver = time.thread_time()
        one_pass()
        driver = time.thread_time() - driver
        after = _tree_cpu(database_pid)
        timed.append(Pass(driver, None if database is None or after is None else after - database))
    return rows, timed


def _tree_cpu(pid: int | None) -> float | None:
    return None if pid is None else sum(cpu_seconds(process_tree(pid)).values())


def measure(
    url: str,
    workload: str,
    seed: int,
    database_pid: int | None = None,
    count: int = SAMPLE,
    concurrency: int = 8,
) -> dict[str, Any]:
    """The floor of ``workload`` on the corpus at ``url`` (see the module docstring), as
    reported beside the workload's figures; on PostgreSQL ``database_pid`` is the postmaster's.
    """
    if is_postgres(url) and database_pid is None:
        raise ValueError("PostgreSQL's floor includes the database's CPU: give its postmaster")
    queries = sample(workload, seed, count, concurrency)
    captured = asyncio.run(capture(url, ranking_of(workload), queries))
    if is_postgres(url):
        rows, passes = replay_postgres(url, captured, PASSES, database_pid)
    else:
        rows, passes = replay_sqlite(url, captured, PASSES)
    ms = [1000 * p.seconds / len(captured) for p in passes]
    middle = sorted(passes, key=lambda p: p.seconds)[len(passes) // 2]
    result: dict[str, Any] = {
        "ms_per_query": round(1000 * middle.seconds / len(captured), 4),
        "passes_ms_per_query": [round(m, 4) for m in ms],
        "driver_ms_per_query": round(1000 * middle.driver / len(captured), 4),
        "queries": len(captured),
        "statements_per_query": round(sum(len(q.statements) for q in captured) / len(captured), 2),
        "rows_per_query": round(sum(len(r) for q in rows for r in q) / len(captured), 1),
    }
    if middle.database is not None:
        result["database_ms_per_query"] = round(1000 * middle.database / len(captured), 4)
    if not is_postgres(url):
        result["sqlite_memory_statistics"] = "off" if statistics_off() else "on"
    return result


def add_floor(summary: dict[str, Any], url: str, workload: str, seed: int,
              database_pid: int | None, concurrency: int) -> None:  # fmt: skip
    """Put the workload's floor (``sql_floor``) and its serving CPU per request over it
    (``floor_ratio``: the server's CPU plus, on PostgreSQL, the database's) in its summary."""
    floor = summary["sql_floor"] = measure(url, workload, seed, database_pid, SAMPLE, concurrency)
    serving = summary.get("cpu_ms_per_request")
    if serving is not None:
        serving += summary.get("postgres_cpu_ms_per_request") or 0.0
    summary["floor_ratio"] = round(serving / floor["ms_per_query"], 2) if serving else None
