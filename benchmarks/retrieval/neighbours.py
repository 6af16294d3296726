"""How close duplicates and non-duplicates come out of ``Store.neighbours``: the figures its
relevance floor (``store/sql/neighbours.py``, ``NEIGHBOUR_FLOOR``) was chosen by.

    python -m benchmarks.retrieval.neighbours                          # a fresh SQLite file
    python -m benchmarks.retrieval.neighbours --database-url postgresql://...  # an empty database

Every unit of ``units.jsonl`` is stored as approved (its id kept), then each unit's neighbours
are computed with no floor. For each pair of ``duplicates.jsonl`` (both ways) it prints the
twin's rank and score; for every other unit, the best score any other unit reaches (the most
that something unrelated to it, or merely on the same topic, scores); and how many units would
show a neighbour at each candidate floor.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.retrieval.evaluate import read_jsonl
from colloquy.domain.models import Context, Insight, ReviewStatus
from colloquy.domain.normalize import normalize_tags
from colloquy.store import migrate
from colloquy.store.factory import open_store
from colloquy.store.protocol import NewUnit, Store
from colloquy.store.sql import SqlStore
from colloquy.store.sql.neighbours import NEIGHBOUR_FLOOR, NeighbourRepository
from colloquy.store.sql.ranking.hybrid import HybridRanker
from colloquy.store.sql.ranking.word_counts import WordCounts

HERE = Path(__file__).resolve().parent
FLOORS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def unit_id(set_id: str) -> str:
    """The set's ``ev-0013`` as a storable unit id."""
    return f"ku_{int(set_id.removeprefix('ev-')):032x}"


async def load(store: Store, rows: list[dict]) -> None:
    for row in rows:
        await store.insert_unit(
            NewUnit(
                id=unit_id(row["id"]),
                domains=normalize_tags(row["domains"]),
                insight=Insight(**row["insight"]),
                context=Context(**row["context"]),
                created_by="bench",
                created_at=AT,
            )
        )
        await store.decide(unit_id(row["id"]), ReviewStatus.APPROVED, "bench", AT)


async def measure(url: str) -> None:
    await migrate.upgrade(url)
    store = open_store(url)
    assert isinstance(store, SqlStore)
    try:
        rows = read_jsonl(HERE / "units.jsonl")
        await load(store, rows)
        counts = WordCounts(store.database.dialect.text_search, HybridRanker().word_cap)
        near = NeighbourRepository(store.database, counts, floor=0.0)
        found = {row["id"]: await near.neighbours(unit_id(row["id"]), 10) for row in rows}
    finally:
        await store.close()

    twins: dict[str, str] = {}
    for pair in read_jsonl(HERE / "duplicates.jsonl"):
        twins[pair["a"]], twins[pair["b"]] = pair["b"], pair["a"]
    print("| unit | twin | twin's rank | twin's score | next best |")
    print("|---|---|---|---|---|")
    for unit, twin in twins.items():
        ids = [n.unit_id for n in found[unit]]
        rank = ids.index(unit_id(twin)) + 1 if unit_id(twin) in ids else None
        scores = [n.score for n in found[unit]]
        twin_score = scores[rank - 1] if rank else 0.0
        others = [n.score for n in found[unit] if n.unit_id != unit_id(twin)]
        print(f"| {unit} | {twin} | {rank} | {twin_score:.3f} | {max(others, default=0):.3f} |")

    best = sorted((found[u][0].score if found[u] else 0.0) for u in found if u not in twins)
    print(f"\nBest neighbour of each of the {len(best)} units without a twin:")
    for q in (0.5, 0.9, 0.95, 0.99):
        print(f"- {q:.0%}: {best[min(len(best) - 1, int(q * len(best)))]:.3f}")
    print(f"- max: {best[-1]:.3f}; mean {statistics.fmean(best):.3f}")
    print("\n| floor | units without a twin showing a neighbour | neighbours shown (mean) |")
    print("|---|---|---|")
    for floor in sorted({*FLOORS, NEIGHBOUR_FLOOR}):
        shown = [sum(n.score >= floor for n in found[u]) for u in found if u not in twins]
        print(f"| {floor} | {sum(1 for s in shown if s)} | {statistics.fmean(shown):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(measure(args.database_url))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(f"sqlite:///{tmp}/neighbours.db"))


if __name__ == "__main__":
    main()
