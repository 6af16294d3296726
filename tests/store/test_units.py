"""Units: insert, get, get_approved, page_units, stats and status_counts."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus, Tier
from colloquy.store.protocol import InvalidCursor, UnitFilter
from tests.store.factories import T0, add_unit, at, expected_points, is_utc, new_unit

PLUS_TWO = timezone(timedelta(hours=2))


# ------------------------------------------------------------------ insert / get


async def test_insert_returns_the_stored_unit(store):
    created = datetime(2026, 3, 1, 14, 30, 5, 654321, tzinfo=PLUS_TWO)
    proposal = new_unit(
        domains=["web", "api", "caching"],
        languages=["python", "go"],
        frameworks=["django"],
        pattern="Retry-Loop",
        created_by="proposer-7",
        created_at=created,
        extensions={"source": "agent", "nested": {"n": [1, 2.5, None, "é"]}},
    )
    unit = await store.insert_unit(proposal)

    assert unit.id == proposal.id
    assert unit.domains == ["web", "api", "caching"]
    assert unit.insight == proposal.insight
    assert unit.context == proposal.context
    assert unit.created_by == "proposer-7"
    assert unit.extensions == {"source": "agent", "nested": {"n": [1, 2.5, None, "é"]}}
    assert unit.tier is Tier.PRIVATE
    assert unit.version == 1
    assert unit.flags == []
    assert unit.superseded_by is None
    assert unit.evidence.confidence == scoring.from_points(scoring.INITIAL_POINTS)
    assert unit.evidence.confirmations == 1
    assert unit.evidence.first_observed == created
    assert unit.evidence.last_confirmed == created
    assert is_utc(unit.evidence.first_observed)
    assert is_utc(unit.evidence.last_confirmed)


async def test_get_unit_sees_pending_but_get_approved_does_not(store):
    unit = await add_unit(store, domains=["b", "a", "c"])

    item = await store.get_unit(unit.id)
    assert item is not None
    assert item.unit == unit
    assert item.unit.domains == ["b", "a", "c"]
    assert item.status is ReviewStatus.PENDING
    assert item.reviewed_by is None
    assert item.reviewed_at is None
    assert item.review_note is None
    assert await store.get_approved(unit.id) is None


async def test_get_approved_after_approval_and_not_after_rejection(store):
    approved = await add_unit(store, ReviewStatus.APPROVED)
    rejected = await add_unit(store, ReviewStatus.REJECTED)

    got = await store.get_approved(approved.id)
    assert got is not None
    assert got.id == approved.id
    assert got.created_by == "alice"
    assert is_utc(got.evidence.first_observed)
    assert await store.get_approved(rejected.id) is None
    # Unknown ids.
    assert await store.get_unit("ku_" + "0" * 32) is None
    assert await store.get_approved("ku_nonexistent") is None


async def test_extensions_round_trip(store):
    for extensions in (None, {}, {"k": "v", "list": [], "flag": False, "n": None}):
        unit = await add_unit(store, ReviewStatus.APPROVED, extensions=extensions)
        assert unit.extensions == extensions
        item = await store.get_unit(unit.id)
        assert item is not None
        assert item.unit.extensions == extensions
        assert type(item.unit.extensions) is type(extensions)
        approved = await store.get_approved(unit.id)
        assert approved is not None
        assert approved.extensions == extensions


# ------------------------------------------------------------------ page_units


def ids(page) -> list[str]:
    return [item.unit.id for item in page.items]


async def page_all(store, filters: UnitFilter, limit: int) -> tuple[list[str], int]:
    """Every id the cursor walks through, and the number of pages it took."""
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await store.page_units(filters, cursor, limit)
        pages += 1
        assert len(page.items) <= limit
        seen.extend(ids(page))
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages
        assert pages < 20, "cursor never ends"


async def test_page_units_newest_first_and_cursor_walks_everything(store):
    # Seven units; two pairs share a creation instant (tie broken by id), one has no microseconds.
    times = [
        at(5),
        at(1),
        at(3),
        at(3),
        datetime(2026, 3, 1, 13, 0, tzinfo=UTC),
        at(1),
        at(9),
    ]
    units = [await add_unit(store, created_at=when) for when in times]
    expected = [
        u.id for u in sorted(units, key=lambda u: (u.evidence.first_observed, u.id), reverse=True)
    ]

    first = await store.page_units(UnitFilter(), None, 3)
    assert ids(first) == expected[:3]
    assert first.next_cursor is not None

    seen, pages = await page_all(store, UnitFilter(), 3)
    assert seen == expected
    assert pages == 3


async def test_page_units_page_boundaries(store):
    for i in range(6):
        await add_unit(store, created_at=at(i))
    # An exact multiple ends without an empty page.
    seen, pages = await page_all(store, UnitFilter(), 3)
    assert len(seen) == len(set(seen)) == 6
    assert pages == 2
    # Everything in one page: no cursor.
    page = await store.page_units(UnitFilter(), None, 10)
    assert len(page.items) == 6
    assert page.next_cursor is None


async def test_page_units_items_carry_review_state(store):
    unit = await add_unit(store, ReviewStatus.REJECTED, reviewer="rex")
    [item] = (await store.page_units(UnitFilter(), None, 10)).items
    assert item.unit.id == unit.id
    assert item.status is ReviewStatus.REJECTED
    assert item.reviewed_by == "rex"
    assert is_utc(item.reviewed_at)


@pytest.fixture
async def mixed_units(store):
    """Units of every status, several domains, proposers and confidences."""
    specs = {
        "p0": dict(status=ReviewStatus.PENDING, domains=["web"], created_by="alice"),
        "p1": dict(status=ReviewStatus.PENDING, domains=["db"], created_by="bob"),
        "r0": dict(status=ReviewStatus.REJECTED, domains=["web", "db"], created_by="alice"),
        "a50": dict(status=ReviewStatus.APPROVED, domains=["web"], created_by="alice"),
        "a60": dict(status=ReviewStatus.APPROVED, domains=["db", "web"], confirms=1),
        "a100": dict(status=ReviewStatus.APPROVED, domains=["db"], confirms=5, created_by="bob"),
        "a35": dict(status=ReviewStatus.APPROVED, domains=["ops"], flags=1, created_by="bob"),
        "a0": dict(status=ReviewStatus.APPROVED, domains=["web", "ops"], flags=4),
    }
    units = {}
    for i, (name, spec) in enumerate(specs.items()):
        units[name] = await add_unit(store, created_at=at(i), **spec)
    return {name: u.id for name, u in units.items()}


FILTER_CASES = [
    (UnitFilter(), ["p0", "p1", "r0", "a50", "a60", "a100", "a35", "a0"]),
    (UnitFilter(status=ReviewStatus.PENDING), ["p0", "p1"]),
    (UnitFilter(status=ReviewStatus.REJECTED), ["r0"]),
    (UnitFilter(status=ReviewStatus.APPROVED), ["a50", "a60", "a100", "a35", "a0"]),
    (UnitFilter(domain="web"), ["p0", "r0", "a50", "a60", "a0"]),
    (UnitFilter(domain="ops"), ["a35", "a0"]),
    (UnitFilter(domain="nothing"), []),
    (UnitFilter(created_by="bob"), ["p1", "a100", "a35"]),
    (UnitFilter(created_by="nobody"), []),
    # min is inclusive
    (UnitFilter(confidence_min=6000), ["a60", "a100"]),
    (UnitFilter(confidence_min=6001), ["a100"]),
    # max is exclusive below the ceiling
    (UnitFilter(confidence_max=3500), ["a0"]),
    (UnitFilter(confidence_max=3501), ["a35", "a0"]),
    (UnitFilter(confidence_max=9999), ["p0", "p1", "r0", "a50", "a60", "a35", "a0"]),
    # ... and inclusive at the ceiling
    (UnitFilter(confidence_max=10000), ["p0", "p1", "r0", "a50", "a60", "a100", "a35", "a0"]),
    (UnitFilter(confidence_min=10000, confidence_max=10000), ["a100"]),
    (UnitFilter(confidence_min=0, confidence_max=1), ["a0"]),
    (UnitFilter(confidence_min=3500, confidence_max=6000), ["p0", "p1", "r0", "a50", "a35"]),
    (
        UnitFilter(status=ReviewStatus.APPROVED, domain="web", confidence_min=5000),
        ["a50", "a60"],
    ),
    (UnitFilter(status=ReviewStatus.PENDING, created_by="alice", domain="web"), ["p0"]),
]


async def test_page_units_filters(store, mixed_units):
    # One database for every case keeps the suite fast; the message names the failing filter.
    for filters, names in FILTER_CASES:
        expected = [mixed_units[n] for n in reversed(names)]  # created in order: newest first
        page = await store.page_units(filters, None, 100)
        assert ids(page) == expected, filters
        assert page.next_cursor is None, filters
        # The same filter, paged two at a time, yields the same units.
        seen, _ = await page_all(store, filters, 2)
        assert seen == expected, filters


async def test_page_units_confidences_are_as_built(store, mixed_units):
    page = await store.page_units(UnitFilter(status=ReviewStatus.APPROVED), None, 100)
    points = {item.unit.id: scoring.to_points(item.unit.evidence.confidence) for item in page.items}
    assert points == {
        mixed_units["a50"]: expected_points(),
        mixed_units["a60"]: expected_points(confirms=1),
        mixed_units["a100"]: expected_points(confirms=5),
        mixed_units["a35"]: expected_points(flags=1),
        mixed_units["a0"]: expected_points(flags=4),
    }
    assert set(points.values()) == {5000, 6000, 10000, 3500, 0}


async def test_page_units_text_filter(store):
    """Every word must appear in the summary, detail or action, in any case."""
    zebra = await add_unit(
        store, ReviewStatus.APPROVED, summary="Beware of the zebrafish cache", created_at=at(1)
    )
    both = await add_unit(store, summary="zebrafish and walrus together", created_at=at(2))
    await add_unit(store, summary="Something else entirely", created_at=at(3))
    # The factory writes "detail of <id>" and "action for <id>".
    in_detail = await add_unit(store, summary="walrus only", created_at=at(4))
    await store.confirm(zebra.id, "carol", at(5))  # updates leave the unit findable, once

    async def search(text: str, **filters) -> list[str]:
        return ids(await store.page_units(UnitFilter(text=text, **filters), None, 10))

    assert await search("zebrafish") == [both.id, zebra.id]
    assert await search("ZebraFish") == [both.id, zebra.id]
    assert await search("walrus zebrafish") == [both.id]
    assert await search("zebrafish", status=ReviewStatus.APPROVED) == [zebra.id]
    assert await search(in_detail.id.removeprefix("ku_")) == [in_detail.id]
    assert await search("no-such-word-xyz") == []
    assert len(await search("   ")) == 4  # blank: no filter
    # Paging with a text filter.
    seen, pages = await page_all(store, UnitFilter(text="zebrafish"), 1)
    assert (seen, pages) == ([both.id, zebra.id], 2)
    # Search syntax in user input is not an error.
    for hostile in ('NEAR( "zebrafish', "zebrafish*", "a:b -c OR", "'\"';"):
        await store.page_units(UnitFilter(text=hostile), None, 10)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


INVALID_CURSORS = [
    "not a cursor!",
    "%%%",
    _b64(b"not json"),
    _b64(json.dumps({"a": 1}).encode()),
    _b64(json.dumps(["2026-03-01T12:00:00+00:00"]).encode()),
    _b64(json.dumps(["2026-03-01T12:00:00+00:00", 7]).encode()),
    _b64(json.dumps(["yesterday", "ku_x"]).encode()),
]


async def test_page_units_rejects_an_invalid_cursor(store):
    await add_unit(store)
    for cursor in INVALID_CURSORS:
        with pytest.raises(InvalidCursor):
            await store.page_units(UnitFilter(), cursor, 3)


# ------------------------------------------------------------------ stats / status_counts


async def test_stats_and_status_counts_from_an_empty_store(store):
    stats = await store.stats([0, 3000, 6000, 8000])
    assert stats.total_count == 0
    assert stats.tier_counts == {}
    assert stats.domain_counts == {}
    assert stats.confidence_points == {0: 0, 3000: 0, 6000: 0, 8000: 0}
    assert (await store.stats([0])).status_counts == {
        ReviewStatus.PENDING: 0,
        ReviewStatus.APPROVED: 0,
        ReviewStatus.REJECTED: 0,
    }

    # Counts follow decisions; the sole bucket counts approved units only.
    unit = await add_unit(store)
    assert ((await store.stats([0])).status_counts)[ReviewStatus.PENDING] == 1
    await store.decide(unit.id, ReviewStatus.REJECTED, "rita", T0 + timedelta(hours=1))
    await add_unit(store, ReviewStatus.APPROVED, confirms=5)
    await add_unit(store, ReviewStatus.APPROVED, flags=4)
    await add_unit(store)
    assert (await store.stats([0])).status_counts == {
        ReviewStatus.PENDING: 1,
        ReviewStatus.APPROVED: 2,
        ReviewStatus.REJECTED: 1,
    }
    stats = await store.stats([0])
    assert stats.total_count == 4
    assert stats.confidence_points == {0: 2}


async def test_stats_counts_approved_only_except_total(store):
    # 0.5 + 4 confirms - 2 flags is exactly 6000 points: the 6000 bucket, not the one below.
    edge = await add_unit(store, ReviewStatus.APPROVED, domains=["web", "api"], confirms=4, flags=2)
    assert scoring.to_points(edge.evidence.confidence) == 6000
    await add_unit(store, ReviewStatus.APPROVED, domains=["web"])  # 5000
    await add_unit(store, ReviewStatus.APPROVED, domains=["db"], confirms=3)  # 8000
    await add_unit(store, ReviewStatus.APPROVED, domains=["web"], confirms=6)  # 10000
    await add_unit(store, ReviewStatus.APPROVED, domains=["ops"], flags=2)  # 2000
    await add_unit(store, ReviewStatus.APPROVED, domains=["ops"], flags=5)  # 0
    await add_unit(store, ReviewStatus.PENDING, domains=["web", "secret"])
    await add_unit(store, ReviewStatus.PENDING, domains=["db"])
    await add_unit(store, ReviewStatus.REJECTED, domains=["web", "hidden"])

    stats = await store.stats([0, 3000, 6000, 8000])
    assert stats.total_count == 9
    assert stats.tier_counts == {"private": 6}
    assert stats.domain_counts == {"web": 3, "ops": 2, "api": 1, "db": 1}
    assert list(stats.domain_counts.values()) == sorted(stats.domain_counts.values(), reverse=True)
    assert stats.confidence_points == {0: 2, 3000: 1, 6000: 1, 8000: 2}

    review_edges = [edge for _, edge in scoring.REVIEW_BUCKETS]
    assert (await store.stats(review_edges)).confidence_points == {0: 2, 3000: 1, 6000: 1, 8000: 2}
    knowledge_edges = [edge for _, edge in scoring.KNOWLEDGE_BUCKETS]
    assert (await store.stats(knowledge_edges)).confidence_points == {
        0: 2,
        3000: 0,
        5000: 2,
        7000: 2,
    }

    assert (await store.stats([0])).status_counts == {
        ReviewStatus.PENDING: 2,
        ReviewStatus.APPROVED: 6,
        ReviewStatus.REJECTED: 1,
    }
