"""Word counts are kept briefly, and a flood word's (one that reached the cap) for longer: it
stays a flood, and counting one again is what costs."""

from colloquy.domain.models import ReviewStatus
from colloquy.store.sql.ranking import word_counts
from colloquy.store.sql.ranking.word_counts import WordCounts
from tests.store.factories import add_unit


async def test_counts_below_the_cap_expire_sooner_than_flood_counts(store, monkeypatch):
    for n in range(3):
        await add_unit(store, ReviewStatus.APPROVED, summary=f"Celery flood {n}")
    await add_unit(store, ReviewStatus.APPROVED, summary="Celery rare wraparound")
    db = store.database
    search = db.dialect.text_search
    now = [0.0]
    counts = WordCounts(search, cap=3, keep_seconds=60, flood_keep_seconds=600,
                        clock=lambda: now[0])  # fmt: skip
    flood, rare = search.group_query(["celery"]), search.group_query(["wraparound"])
    counted: list[str] = []
    fetch = word_counts.fetch

    def counting(conn, statement, params):
        counted.append(params.get("match", "units"))
        return fetch(conn, statement, params)

    monkeypatch.setattr(word_counts, "fetch", counting)

    def read(conn) -> tuple[list[int], int]:
        return counts.counts(conn, [flood, rare]), counts.units(conn)

    assert await db.read(read) == ([3, 1], 4)
    assert counted == [flood, rare, "units"]
    await add_unit(store, ReviewStatus.APPROVED, summary="Celery wraparound again")
    now[0] = 30.0  # every count kept
    assert await db.read(read) == ([3, 1], 4)
    now[0] = 61.0  # the rare word's count and the number of units are read again
    assert await db.read(read) == ([3, 2], 5)
    assert counted[3:] == [rare, "units"]
    now[0] = 601.0  # the flood word's too
    assert await db.read(read) == ([3, 2], 5)
    assert counted[5:] == [flood, rare, "units"]
