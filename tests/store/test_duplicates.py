"""neighbours() (the units closest to a unit's text) and decide() with ``duplicate_of``."""

import pytest

from colloquy.domain.models import Context, Insight, ReviewStatus
from colloquy.store.protocol import Decision, NewUnit, NotAnOriginal, UnitEvent
from tests.store.factories import T0, add_unit, at, unit_id

BLOCKING = Insight(
    summary="Calling a blocking function such as time.sleep inside an async def freezes the "
    "whole asyncio event loop",
    detail="asyncio is cooperative: a coroutine yields only at await points, so a synchronous "
    "sleep stalls every other task on the loop.",
    action="Await asyncio.sleep instead, or push the blocking call to asyncio.to_thread.",
)
BLOCKING_AGAIN = Insight(
    summary="A blocking time.sleep in an async def stalls the asyncio event loop for every task",
    detail="The event loop runs one coroutine at a time and switches only at await, so a "
    "synchronous sleep blocks all other tasks.",
    action="Use await asyncio.sleep, or run blocking work in asyncio.to_thread.",
)
UNRELATED = [
    Insight(
        summary="Terraform plans a destroy and create when a resource block is renamed",
        detail="State is keyed by address; a new address looks like a new resource.",
        action="Add a moved block from the old address to the new one.",
    ),
    Insight(
        summary="git keeps tracking a committed file after it is added to .gitignore",
        detail="Ignore rules apply to untracked files only.",
        action="Run git rm --cached on the file and commit.",
    ),
    Insight(
        summary="Docker containers run as root unless the Dockerfile sets a USER",
        detail="Files written to bind mounts are then owned by root on the host.",
        action="Add a non-root USER to the image.",
    ),
]


async def propose(store, insight: Insight, domains=("python",), status=ReviewStatus.PENDING):
    unit = await store.insert_unit(
        NewUnit(
            id=unit_id(),
            domains=list(domains),
            insight=insight,
            context=Context(),
            created_by="alice",
            created_at=T0,
        )
    )
    if status is not ReviewStatus.PENDING:
        assert await store.decide(unit.id, status, "rita", at(1)) is not None
    return unit


async def with_unrelated(store) -> None:
    """A few approved units on other things: a word's weight needs some units to count in."""
    for insight in UNRELATED * 3:
        await propose(store, insight, domains=("ops",), status=ReviewStatus.APPROVED)


# ------------------------------------------------------------------ neighbours


async def test_a_near_identical_unit_is_the_first_neighbour(store):
    await with_unrelated(store)
    original = await propose(store, BLOCKING, status=ReviewStatus.APPROVED)
    twin = await propose(store, BLOCKING_AGAIN, domains=("python", "asyncio"))

    found = await store.neighbours(twin.id, 5)
    assert [n.unit_id for n in found] == [original.id]
    (first,) = found
    assert first.summary == BLOCKING.summary
    assert first.status is ReviewStatus.APPROVED
    assert 0.35 <= first.score <= 1.0
    # Both ways, and a pending neighbour shows as pending.
    back = await store.neighbours(original.id, 5)
    assert [(n.unit_id, n.status) for n in back] == [(twin.id, ReviewStatus.PENDING)]


async def test_unrelated_units_are_not_neighbours(store):
    await with_unrelated(store)
    lonely = await propose(store, BLOCKING)
    assert await store.neighbours(lonely.id, 5) == []


async def test_never_itself_never_rejected(store):
    await with_unrelated(store)
    first = await propose(store, BLOCKING, status=ReviewStatus.REJECTED)
    second = await propose(store, BLOCKING_AGAIN)
    assert await store.neighbours(second.id, 5) == []
    # A rejected unit is out of the running, and shows no neighbours of its own either.
    assert await store.neighbours(first.id, 5) == []
    third = await propose(store, BLOCKING)
    assert [n.unit_id for n in await store.neighbours(second.id, 5)] == [third.id]


async def test_missing_unit_has_no_neighbours(store):
    assert await store.neighbours(unit_id(999), 5) == []


async def test_bounded_and_best_first(store):
    copies = [await propose(store, BLOCKING) for _ in range(14)]
    found = await store.neighbours(copies[0].id, 50)
    assert len(found) == 10
    assert copies[0].id not in {n.unit_id for n in found}
    scores = [n.score for n in found]
    assert scores == sorted(scores, reverse=True)
    assert len(await store.neighbours(copies[0].id, 3)) == 3
    assert await store.neighbours(copies[0].id, 0) == []


@pytest.mark.parametrize(
    "text",
    [
        'NEAR("time" sleep) * : & ! "x OR AND NOT',
        "sleep' | !loop & (asyncio:* <-> blocking) \\ ''",
        "\"\"\" ''' ^ $ -- ; DROP TABLE units; --",
        "a an the of",
    ],
)
async def test_hostile_text_is_plain_words(store, text):
    await propose(store, BLOCKING, status=ReviewStatus.APPROVED)
    hostile = await propose(
        store,
        Insight(summary=text, detail=text, action=text),
        domains=("c++", "node.js", "k8s-probes"),
    )
    found = await store.neighbours(hostile.id, 5)
    assert all(n.unit_id != hostile.id for n in found)


# ------------------------------------------------------------------ reject as a duplicate


async def test_reject_as_a_duplicate_is_stored_in_the_history(store):
    original = await add_unit(store, ReviewStatus.APPROVED)
    copy = await add_unit(store)

    decision = await store.decide(
        copy.id, ReviewStatus.REJECTED, "alice", at(5), duplicate_of=original.id
    )
    assert decision == Decision(
        unit_id=copy.id,
        status=ReviewStatus.REJECTED,
        reviewed_by="alice",
        reviewed_at=at(5),
        duplicate_of=original.id,
    )
    item = await store.get_unit(copy.id)
    assert item is not None and item.status is ReviewStatus.REJECTED
    history = await store.history(copy.id, 10)
    assert history[-1] == UnitEvent(
        kind="rejected", actor="alice", at=at(5), duplicate_of=original.id
    )
    assert history[0].duplicate_of is None
    # It travels with an export into another server's import.
    (archive,) = [a for a in await store.export_units(None, 10) if a.item.unit.id == copy.id]
    assert archive.events[-1].duplicate_of == original.id


async def test_a_pending_unit_can_be_the_original(store):
    original = await add_unit(store)
    copy = await add_unit(store)
    decision = await store.decide(
        copy.id, ReviewStatus.REJECTED, "alice", at(5), duplicate_of=original.id
    )
    assert decision is not None and decision.duplicate_of == original.id


@pytest.mark.parametrize("original", ["missing", "itself", "rejected"])
async def test_reject_as_a_duplicate_of_no_original_is_refused(store, original):
    copy = await add_unit(store)
    rejected = await add_unit(store, ReviewStatus.REJECTED)
    named = {"missing": unit_id(999), "itself": copy.id, "rejected": rejected.id}[original]

    with pytest.raises(NotAnOriginal):
        await store.decide(copy.id, ReviewStatus.REJECTED, "alice", at(5), duplicate_of=named)
    item = await store.get_unit(copy.id)
    assert item is not None and item.status is ReviewStatus.PENDING
    assert [e.kind for e in await store.history(copy.id, 10)] == ["proposed"]


async def test_only_a_rejection_names_an_original(store):
    original = await add_unit(store, ReviewStatus.APPROVED)
    copy = await add_unit(store)
    with pytest.raises(NotAnOriginal):
        await store.decide(copy.id, ReviewStatus.APPROVED, "rita", at(5), duplicate_of=original.id)
    item = await store.get_unit(copy.id)
    assert item is not None and item.status is ReviewStatus.PENDING
