"""The write floor on SQLite: what the statements of a workload's writes cost on the bare driver.

    python -m benchmarks.write_floor [--workloads confirm,flag,propose] [--writes 480]

A write's CPU is judged against the SQLite work it cannot do without, as a query's is against
its SQL floor (``sql_floor``). The workload's requests (the load generator's, same factory and
seeds, taken in turn from each of the ``--concurrency`` workers) are written by the service in
this process, from that many tasks at once, so that they queue for the writer and commit in
groups as a serving process's do (``group_commit``). Every statement the writer's connection
sends is recorded (SQLAlchemy's ``before_cursor_execute``: ``BEGIN IMMEDIATE``, each job's
statements, the counters; the driver's commit as ``COMMIT``), and the writer thread's CPU is
timed around each group (``thread_time`` in ``GroupCommit._commit``).

The statements are then replayed in order on a bare ``sqlite3`` connection (the store's
pragmas: WAL, ``synchronous=NORMAL``, foreign keys, SQLite's checkpoint interval) to a
second copy of the same corpus, so that each finds the rows it found when it was recorded.
The first ``--warmup`` writes of the recording warm the store's caches and the replay's page
cache alike and are left out of both figures. Reported per workload: the floor (the replaying
thread's CPU per write: SQLite runs in it, the WAL's writes and checkpoints included, and a
last checkpoint of what the log still holds, the timed writes' own), the store's writer
thread per write in this process and its ratio to the floor, statements per write, and the
sizes of the groups. ``--wal-pages`` replays with another checkpoint interval, to see
what it is worth (benchmarks/PROFILE.md, item 11).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event

from benchmarks import load, loadgen, run, workloads
from benchmarks.sql_floor import ranking_of
from benchmarks.workloads import Credentials
from colloquy.api.schemas import FlagRequest, ProposeRequest
from colloquy.domain.models import Context, Insight
from colloquy.services.knowledge import KnowledgeService, Proposal
from colloquy.services.throttle import RATE_WINDOW
from colloquy.store.factory import open_store
from colloquy.store.protocol import Allowance, RateLimit, ThrottleKey

WORKLOADS = ("confirm", "flag", "propose")
ACTOR = "floor"
# As the benchmark's server runs: every write spends an allowance it never runs out of.
LIMIT = RateLimit(1_000_000, RATE_WINDOW)
COMMIT = ("COMMIT", (), False)
# SQLite's default checkpoint interval, the store's writer's (``--wal-pages`` to try others).
WAL_PAGES = 1_000
# What the writes leave the log to fold into the database file, done at the end of a replay.
CHECKPOINT = ("PRAGMA wal_checkpoint(TRUNCATE)", (), False)

Statement = tuple[str, Any, bool]
"""SQL text, its parameters, and whether it ran with many rows (``executemany``)."""


@dataclass
class Recording:
    """The writer connection's statements and its thread's CPU, from a given write on."""

    statements: list[Statement] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    writer_seconds: float = 0.0


def requests(workload: str, ids: list[str], seed: int, count: int, concurrency: int) -> list[Any]:
    """The workload's first ``count`` requests, in turn from each worker's sequence."""
    factory = workloads.factories(Credentials("", "", ids), seed)[workload]
    rngs = [loadgen.worker_rng(index) for index in range(concurrency)]
    return [factory(rngs[i % concurrency]) for i in range(count)]


def writer(knowledge: KnowledgeService, workload: str, request: Any) -> Any:
    """The service call the API route makes for ``request``."""
    allowance = Allowance(ThrottleKey(workload, ACTOR), LIMIT)
    if workload == "confirm":
        unit_id = urlsplit(request.path).path.split("/")[-2]
        return knowledge.confirm(unit_id, ACTOR, allowance)
    body = json.loads(request.body)
    if workload == "flag":
        unit_id = urlsplit(request.path).path.split("/")[-2]
        flag = FlagRequest.model_validate(body)
        return knowledge.flag(
            unit_id, flag.reason, ACTOR, flag.detail, flag.duplicate_of, allowance
        )
    propose = ProposeRequest.model_validate(body)
    proposal = Proposal(
        domains=propose.domains,
        insight=Insight(**propose.insight.model_dump()),
        context=Context(**propose.context.model_dump()),
        extensions=propose.extensions,
    )
    return knowledge.propose(proposal, ACTOR, allowance)


async def record(
    url: str, workload: str, batches: Sequence[Sequence[Any]], warmup: int
) -> tuple[Recording, Recording]:
    """Every batch's writes at once (one task each), then the next batch; the statements and
    writer CPU of the first ``warmup`` writes, and of the rest."""
    store = open_store(url)
    try:
        knowledge = KnowledgeService(store, ranking_of("query"))  # writes rank nothing
        database = store.database  # type: ignore[attr-defined]
        warm, timed = Recording(), Recording()
        current = warm

        def statement(_c: Any, _cur: Any, sql: str, params: Any, _x: Any, many: bool) -> None:
            current.statements.append((sql, params, many))

        def commit(_conn: Any) -> None:
            current.statements.append(COMMIT)

        group = database._group
        committing = group._commit

        def timed_commit(jobs: list[Any]) -> Any:
            started = time.thread_time()
            try:
                return committing(jobs)
            finally:
                current.writer_seconds += time.thread_time() - started
                current.groups.append(len(jobs))

        engine = database.write_engine
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        group._commit = timed_commit
        try:
            done = 0
            for batch in batches:
                if done >= warmup:
                    current = timed
                await asyncio.gather(*(writer(knowledge, workload, r) for r in batch))
                done += len(batch)
        finally:
            group._commit = committing
            event.remove(engine, "commit", commit)
            event.remove(engine, "before_cursor_execute", statement)
        return warm, timed
    finally:
        await store.close()


def replay(conn: sqlite3.Connection, statements: Sequence[Statement]) -> float:
    """The statements on ``conn``, each executed and its rows fetched; the thread's CPU."""
    started = time.thread_time()
    for sql, params, many in statements:
        if many:
            conn.executemany(sql, params)
        else:
            conn.execute(sql, params).fetchall()
    return time.thread_time() - started


def connect(path: Path, wal_pages: int = WAL_PAGES) -> sqlite3.Connection:
    """A bare connection with the store's pragmas (``store/sqlite.py``; the log checkpointed
    at ``wal_pages``), in autocommit so the recorded ``BEGIN IMMEDIATE`` and ``COMMIT`` open
    and end each transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    checkpoint = f"wal_autocheckpoint={wal_pages}"
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", checkpoint):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def measure(
    workload: str, ids: list[str], seed: int, writes: int, warmup: int, concurrency: int,
    recorded: Path, replayed: Path, wal_pages: int = WAL_PAGES,
) -> dict[str, Any]:  # fmt: skip
    """The floor of ``workload``'s writes, recorded on ``recorded`` and replayed on
    ``replayed`` (copies of one corpus, in the same state)."""
    drawn = requests(workload, ids, seed, warmup + writes, concurrency)
    batches = [drawn[i : i + concurrency] for i in range(0, len(drawn), concurrency)]
    warm, timed = asyncio.run(record(f"sqlite:///{recorded}", workload, batches, warmup))
    with closing(connect(replayed, wal_pages)) as conn:
        replay(conn, [*warm.statements, CHECKPOINT])
        floor = replay(conn, [*timed.statements, CHECKPOINT])
    count = sum(timed.groups)
    sizes = Counter(timed.groups)
    return {
        "writes": count,
        "floor_ms_per_write": round(1000 * floor / count, 4),
        "writer_ms_per_write": round(1000 * timed.writer_seconds / count, 4),
        "writer_over_floor": round(timed.writer_seconds / floor, 2),
        "statements_per_write": round(len(timed.statements) / count, 2),
        "commits": sum(1 for s in timed.statements if s is COMMIT),
        "group_sizes": dict(sorted(sizes.items())),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=run.corpus.DEFAULT_SEED)
    parser.add_argument("--writes", type=int, default=480)
    parser.add_argument("--warmup", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--wal-pages", type=int, default=WAL_PAGES)
    args = parser.parse_args(argv)
    pristine, _, ids = run.cached_sqlite(args.size, args.seed, load.DEFAULT_BATCH)
    work = run.WORK / "runs" / f"write-floor-{args.size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    copies = [work / "recorded.db", work / "replayed.db"]
    for copy in copies:
        shutil.copyfile(pristine, copy)
    try:
        for workload in args.workloads.split(","):
            figures = measure(workload, ids, args.seed, args.writes, args.warmup,
                              args.concurrency, *copies, args.wal_pages)  # fmt: skip
            print(workload, json.dumps(figures), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
