"""Units' vectors in the store, on both backends: which units still need one (in bounded
windows), storing and replacing them, reading a candidate set's, and a unit gone meanwhile."""

import pytest
from sqlalchemy import delete

from colloquy.store import tables as t
from colloquy.store.protocol import MAX_VECTOR_READ, EmbeddingSource
from tests.store.factories import new_unit, unit_id

MODEL = "test-model/1"
OTHER = "test-model/2"


async def _units(store, count):
    ids = [unit_id(n) for n in range(1, count + 1)]
    for n, uid in enumerate(ids):
        await store.insert_unit(new_unit(id=uid, summary=f"summary {n}", languages=["python"]))
    return ids


async def test_a_scan_lists_the_units_without_a_vector_by_the_model_window_by_window(store):
    ids = await _units(store, 5)
    await store.store_vectors(MODEL, [(ids[1], b"\x01" * 8), (ids[3], b"\x02" * 8)])

    first = await store.units_to_embed(MODEL, None, 2)
    assert [u.unit_id for u in first.units] == [ids[0]]
    assert first.next_after == ids[1]
    second = await store.units_to_embed(MODEL, first.next_after, 2)
    assert [u.unit_id for u in second.units] == [ids[2]]
    assert second.next_after == ids[3]
    last = await store.units_to_embed(MODEL, second.next_after, 2)
    assert [u.unit_id for u in last.units] == [ids[4]]
    assert last.next_after is None  # the window was not full: the end
    assert await store.units_to_embed(MODEL, ids[4], 2) == type(last)([], None)

    # another model's vectors do not count
    everything = await store.units_to_embed(OTHER, None, 10)
    assert [u.unit_id for u in everything.units] == ids
    assert await store.embedding_backlog(MODEL) == 3
    assert await store.embedding_backlog(OTHER) == 5


async def test_a_scan_gives_what_the_vector_is_computed_from(store):
    uid = unit_id(7)
    await store.insert_unit(
        new_unit(id=uid, domains=["postgres", "index"], languages=["sql"], frameworks=["django"])
    )
    scan = await store.units_to_embed(MODEL, None, 10)
    (source,) = scan.units
    assert isinstance(source, EmbeddingSource)
    stored = await store.get_unit(uid)
    insight = stored.unit.insight
    assert (source.summary, source.detail, source.action) == (
        insight.summary,
        insight.detail,
        insight.action,
    )
    assert source.tags == ("postgres", "index", "sql", "django")


async def test_vectors_are_read_for_the_candidates_by_their_model_and_replaced(store):
    ids = await _units(store, 3)
    await store.store_vectors(MODEL, [(ids[0], b"a" * 12), (ids[1], b"b" * 12)])
    assert await store.unit_vectors(MODEL, [ids[0], ids[2]]) == {ids[0]: b"a" * 12}
    assert await store.unit_vectors(OTHER, ids) == {}
    assert await store.unit_vectors(MODEL, []) == {}

    # a new model's vector replaces the old one
    await store.store_vectors(OTHER, [(ids[0], b"c" * 16)])
    assert await store.unit_vectors(OTHER, ids) == {ids[0]: b"c" * 16}
    assert await store.unit_vectors(MODEL, ids) == {ids[1]: b"b" * 12}
    assert await store.embedding_backlog(MODEL) == 2


async def test_a_vector_for_a_unit_gone_meanwhile_is_skipped_and_goes_with_its_unit(store):
    ids = await _units(store, 2)
    await store.store_vectors(MODEL, [(ids[0], b"x" * 8), (unit_id(999), b"y" * 8)])
    assert await store.unit_vectors(MODEL, [ids[0], unit_id(999)]) == {ids[0]: b"x" * 8}

    def remove(conn):
        conn.execute(delete(t.unit_domains).where(t.unit_domains.c.unit_id == ids[0]))
        conn.execute(delete(t.units).where(t.units.c.id == ids[0]))

    await store.database.write(remove)
    assert await store.unit_vectors(MODEL, ids) == {}


async def test_reads_are_bounded(store):
    with pytest.raises(ValueError, match="at most"):
        await store.unit_vectors(MODEL, [unit_id(n) for n in range(MAX_VECTOR_READ + 1)])
    ids = await _units(store, 3)
    huge = await store.units_to_embed(MODEL, None, 10**9)  # cut to the largest window
    assert [u.unit_id for u in huge.units] == ids
