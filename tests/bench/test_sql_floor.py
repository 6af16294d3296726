"""The SQL floor (benchmarks/sql_floor.py) replays the store's own statements for a workload's
queries on the bare driver, and the report states the query targets against it.

No timing assertions: only that the statements are the store's, that the bare driver reads
the same rows from them, and that the figures are there and checked."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from benchmarks import load, report, run, sql_floor

from colloquy.store.factory import is_postgres, open_store
from tests.support.pgserver import PostgresServer

SIZE = 400
SEED = 11
QUERIES = 60


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def corpus_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small benchmark corpus on each backend, shared by this module's tests (they read it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('floor') / 'colloquy.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database("sql_floor")
    asyncio.run(load.load(url, SIZE, seed=SEED, batch=200, progress=False))
    return url


def postmaster(url: str, request: pytest.FixtureRequest) -> int | None:
    return run.postmaster_pid(request.getfixturevalue("pg_server")) if is_postgres(url) else None


def test_a_query_path_becomes_the_service_arguments():
    path = "/api/v1/knowledge?domains=a&domains=b&languages=py&pattern=p&limit=7&q=slow+io"
    assert sql_floor.query_args(path) == {
        "domains": ["a", "b"], "languages": ["py"], "frameworks": [], "pattern": "p",
        "limit": 7, "q": "slow io",
    }  # fmt: skip


@pytest.mark.parametrize("workload", sql_floor.WORKLOADS)
def test_the_replay_reads_what_the_store_read(
    corpus_url: str, workload: str, request: pytest.FixtureRequest
):
    queries = sql_floor.sample(workload, SEED, QUERIES)
    captured = asyncio.run(sql_floor.capture(corpus_url, sql_floor.ranking_of(workload), queries))
    assert len(captured) == QUERIES
    answered = [q for q in captured if q.answer]
    assert answered, "the sample should find units in the corpus"
    assert all(q.statements for q in answered)
    assert all(sql.lstrip().upper().startswith(("SELECT", "WITH")) for q in captured
               for sql, _ in q.statements)  # fmt: skip
    # The ranking's rounds run on the driver's cursor, and are recorded all the same.
    with_domains = [q for q, args in zip(captured, queries, strict=True) if args["domains"]]
    assert with_domains
    assert all(any("FROM unit_domains" in sql for sql, _ in q.statements) for q in with_domains)
    pid = postmaster(corpus_url, request)
    if pid is None:
        rows, passes = sql_floor.replay_sqlite(corpus_url, captured, 1)
    else:
        rows, passes = sql_floor.replay_postgres(corpus_url, captured, 1, pid)
    # The units each query answered are among the rows its statements return on the bare driver.
    for query, query_rows in zip(captured, rows, strict=True):
        values = {value for statement in query_rows for row in statement for value in row}
        assert set(query.answer) <= values, query
    # And the bare driver's rows are those the store's own connection reads for each statement.
    store_rows = asyncio.run(store_reads(corpus_url, captured))
    assert decoded(rows, store_rows) == [[[list(r) for r in s] for s in q] for q in store_rows]
    (only,) = passes
    assert only.driver > 0
    assert (only.database is not None and only.database >= 0) == (pid is not None)


async def store_reads(url: str, captured: list[sql_floor.Captured]) -> sql_floor.Rows:
    """Each captured statement run again through the store's read connection."""
    store = open_store(url)
    try:
        return await store.database.read(  # type: ignore[attr-defined]
            lambda conn: [
                [list(conn.exec_driver_sql(sql, params).all()) for sql, params in q.statements]
                for q in captured
            ]
        )
    finally:
        await store.close()


def decoded(bare: sql_floor.Rows, store: sql_floor.Rows) -> list[Any]:
    """The bare driver's rows as plain lists, with JSON text decoded where the store's
    connection decoded it (asyncpg alone leaves jsonb as text, SQLAlchemy's codec decodes it);
    a different number of statements, rows or columns fails the comparison."""

    def value(b: Any, s: Any) -> Any:
        return json.loads(b) if isinstance(b, str) and not isinstance(s, str) else b

    return [
        [
            [
                [value(b, s) for b, s in zip(brow, srow, strict=True)]
                for brow, srow in zip(bs, ss, strict=True)
            ]
            for bs, ss in zip(bq, sq, strict=True)
        ]
        for bq, sq in zip(bare, store, strict=True)
    ]


def test_the_floor_and_the_serving_cpu_over_it(corpus_url: str, request: pytest.FixtureRequest):
    pid = postmaster(corpus_url, request)
    summary: dict[str, Any] = {"cpu_ms_per_request": 6.0}
    if pid is not None:
        summary["postgres_cpu_ms_per_request"] = 2.0
    sql_floor.add_floor(summary, corpus_url, "query", SEED, pid, concurrency=8)
    floor = summary["sql_floor"]
    assert floor["queries"] == sql_floor.SAMPLE
    assert floor["ms_per_query"] > 0 and floor["statements_per_query"] > 0
    assert floor["ms_per_query"] in floor["passes_ms_per_query"]
    assert len(floor["passes_ms_per_query"]) == sql_floor.PASSES
    assert ("database_ms_per_query" in floor) == (pid is not None)
    serving = 8.0 if pid is not None else 6.0
    assert summary["floor_ratio"] == round(serving / floor["ms_per_query"], 2)


def test_postgres_floor_needs_the_database_cpu():
    with pytest.raises(ValueError, match="postmaster"):
        sql_floor.measure("postgresql://u@127.0.0.1:1/x", "query", SEED)


def workload(cpu_ratio: float | None = None, floor_ratio: float | None = None) -> dict:
    summary: dict[str, Any] = {
        "throughput": 100.0, "p50_ms": 5.0, "p90_ms": 8.0, "p99_ms": 12.0, "max_ms": 20.0,
        "requests": 1000, "errors": 0, "rss_peak_mib": 120.0, "cpu_ms_per_request": 4.0,
        "cpu_cores": {"server": 0.9, "client": 0.5}, "cpu_ratio": cpu_ratio,
    }  # fmt: skip
    if floor_ratio is not None:
        summary |= {"sql_floor": {"ms_per_query": 2.5}, "floor_ratio": floor_ratio}
    return summary


def test_the_report_checks_the_query_targets_against_the_floor(tmp_path: Path):
    results = {
        "backend": "sqlite", "workers": 1, "concurrency": 8, "duration": 10.0,
        "machine": {"nproc": 2, "cpu": "x", "memory_gib": 4, "kernel": "6"},
        "versions": {"python": "3", "colloquy": "0", "sqlite": "3", "fastapi": "0",
                     "uvicorn": "0", "sqlalchemy": "2", "commit": "abc"},
        "runs": {"100000": {"size": 100_000, "load": {"seconds": 1, "units_per_second": 1},
                            "workloads": {
                                "health": workload(1.0),
                                "query": workload(30.0, 1.8),
                                "query_q": workload(40.0, 2.6),
                                "confirm": workload(16.0),
                            }}},
    }  # fmt: skip
    (tmp_path / "sqlite-w1.json").write_text(json.dumps(results))
    text = report.render_markdown(report.read_results(tmp_path), None)
    assert (
        "| query CPU/request ≤ 2× its SQL floor | sqlite | 100k | 1.80 × SQL floor | **pass** |"
        in text
    )
    assert (
        "| query with q CPU/request ≤ 2× its SQL floor | sqlite | 100k | 2.60 × SQL floor "
        "| **FAIL** |" in text
    )
    assert (
        "| query on cq ranking CPU/request ≤ 2× its SQL floor | sqlite | 100k | not measured |"
        in text
    )
    assert (
        "| confirm CPU/request ≤ 17× health's | sqlite | 100k | 16.00 × health CPU/req | **pass** |"
        in text
    )
    assert "≤ 17× health's | sqlite | 100k | 30" not in text  # query is no longer held to 17
    # The run's table shows the floor and the ratio beside CPU × health.
    assert "| query | 100.0 | 111 | 4.00 | 30.00 | 2.50 | 1.80 |" in text
