"""The bulk loader: a generated corpus into any colloquy database through ``Store.import_units``.

Why the store and not HTTP or raw SQL: ``import_units`` writes a batch of units with their tags,
flags, events and daily counters in one transaction, exactly as the server would keep them, so
the loaded database is indistinguishable from one that grew through the API, yet a million
units load in minutes. Generation runs in a thread beside the inserts: the database (SQLite's
thread, or the PostgreSQL server) works on one batch while the next one is being built.

    python -m benchmarks.load --url sqlite:///tmp/c.db --size 100000
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from benchmarks import corpus
from colloquy.domain.models import ReviewStatus
from colloquy.store import migrate
from colloquy.store.factory import open_store
from colloquy.store.protocol import UnitArchive

DEFAULT_BATCH = 2_000
# The confirm workload needs ids of approved units; a sample spread over the corpus suffices.
ID_SAMPLE = 20_000


@dataclass
class LoadResult:
    """What the run and the report need to know about a load."""

    size: int
    seed: int
    end: datetime
    seconds: float
    approved_ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.size / self.seconds if self.seconds else 0.0


def progress_bar(shown: bool = True) -> Progress:
    """The bar a long load shows: what it does, how far along, for how long, how long yet."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, disable=not shown, transient=False)


def _batches(
    size: int, seed: int, end: datetime, batch: int, vocabulary: Sequence[str] | None
) -> Iterator[list[UnitArchive]]:
    units = corpus.generate(size, seed, end, vocabulary)
    while chunk := list(islice(units, batch)):
        yield chunk


def _produce(
    out: queue.Queue[list[UnitArchive] | None],
    size: int,
    seed: int,
    end: datetime,
    batch: int,
    vocabulary: Sequence[str] | None,
) -> None:
    try:
        for chunk in _batches(size, seed, end, batch, vocabulary):
            out.put(chunk)
    finally:
        out.put(None)


async def load(
    url: str,
    size: int,
    seed: int = corpus.DEFAULT_SEED,
    end: datetime | None = None,
    batch: int = DEFAULT_BATCH,
    progress: bool = True,
    vocabulary: Sequence[str] | None = None,
) -> LoadResult:
    """Migrate ``url`` and insert ``size`` generated units in batches of ``batch``, their
    text drawn from ``vocabulary`` (``corpus.generate``)."""
    end = end or corpus.default_end()
    await migrate.upgrade(url)
    store = open_store(url)
    stride = max(1, size // ID_SAMPLE)
    result = LoadResult(size=size, seed=seed, end=end, seconds=0.0)
    pending: queue.Queue[list[UnitArchive] | None] = queue.Queue(maxsize=4)
    producer = threading.Thread(
        target=_produce, args=(pending, size, seed, end, batch, vocabulary), daemon=True
    )
    started = time.perf_counter()
    producer.start()
    try:
        with progress_bar(progress) as bar:
            task = bar.add_task(f"loading {size:,} units", total=size)
            index = 0
            while (chunk := await asyncio.to_thread(pending.get)) is not None:
                await store.import_units(chunk)
                for archive in chunk:
                    if index % stride == 0 and archive.item.status is ReviewStatus.APPROVED:
                        result.approved_ids.append(archive.item.unit.id)
                    index += 1
                bar.advance(task, len(chunk))
    finally:
        await store.close()
    producer.join()
    result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", required=True, help="database URL (sqlite:///... or postgresql://...)"
    )
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    args = parser.parse_args()
    result = asyncio.run(load(args.url, args.size, args.seed, batch=args.batch))
    print(f"loaded {result.size:,} units in {result.seconds:.1f} s ({result.rate:,.0f} units/s)")


if __name__ == "__main__":
    main()
