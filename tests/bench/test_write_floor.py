"""The write floor (benchmarks/write_floor.py) records the writer's statements for a workload's
writes and replays them on the bare driver, on a second copy of the corpus.

No timing assertions: only that every write is recorded and counted, grouped as the writer
grouped it, and that the replay writes what the store wrote."""

import asyncio
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from benchmarks import load, write_floor

SIZE = 400
SEED = 11
WRITES = 40
WARMUP = 8

# What each write leaves behind, read alike from both copies.
STATE = (
    "SELECT count(*), sum(confidence), sum(confirmations), sum(flag_count) FROM units",
    "SELECT count(*), sum(confidence) FROM unit_domains",
    "SELECT count(*) FROM events",
    "SELECT count(*) FROM flags",
    "SELECT key, sum(n) FROM unit_counts GROUP BY key ORDER BY key",
    "SELECT scope, subject FROM throttles ORDER BY scope, subject",
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("write-floor") / "colloquy.db"
    result = asyncio.run(load.load(f"sqlite:///{path}", SIZE, seed=SEED, batch=200, progress=False))
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, result.approved_ids


def state(path: Path) -> list[list[tuple]]:
    with closing(sqlite3.connect(path)) as conn:
        return [conn.execute(sql).fetchall() for sql in STATE]


@pytest.mark.parametrize("workload", write_floor.WORKLOADS)
def test_the_replay_writes_what_the_store_wrote(
    corpus: tuple[Path, list[str]], workload: str, tmp_path: Path
):
    pristine, ids = corpus
    recorded, replayed = tmp_path / "recorded.db", tmp_path / "replayed.db"
    for copy in (recorded, replayed):
        shutil.copyfile(pristine, copy)
    before = state(recorded)
    figures = write_floor.measure(workload, ids, SEED, WRITES, WARMUP, 8, recorded, replayed)
    assert figures["writes"] == WRITES
    assert sum(figures["group_sizes"].values()) == figures["commits"]
    assert sum(size * n for size, n in figures["group_sizes"].items()) == WRITES
    # Eight tasks at once queue for the writer: most of their writes commit together.
    assert figures["commits"] < WRITES
    assert figures["statements_per_write"] > 3
    assert figures["floor_ms_per_write"] > 0
    assert figures["writer_ms_per_write"] > 0
    after = state(recorded)
    assert after != before
    assert state(replayed) == after
