"""Migration 0013 (a unit's ranking rows by unit, feature and domain on PostgreSQL) upgrades and
downgrades on both backends, on a database with ranked units, and leaves them alone: the same
queries give the same answers on either side of it. SQLite keeps its index on unit_id."""

from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.domain.models import ReviewStatus
from colloquy.store import migrate
from colloquy.store.factory import async_url, open_store
from colloquy.store.protocol import QuerySpec, Ranking
from tests.store.factories import add_unit
from tests.store.migration_support import revision_before, run_alembic

SPECS = [
    QuerySpec(domains=["web", "api"], languages=["go"], ranking=ranking)
    for ranking in (Ranking.CQ, Ranking.HYBRID)
]
OLD, NEW = "ix_unit_domains_unit_id", "ix_unit_domains_unit_id_feature_domain"


def _indexes(connection: Connection) -> set[str]:
    return {index["name"] for index in inspect(connection).get_indexes("unit_domains")}


async def _answers(url: str) -> list[list[str]]:
    store = open_store(url)
    try:
        return [[unit.id for unit in await store.query(spec)] for spec in SPECS]
    finally:
        await store.close()


async def test_upgrade_and_downgrade_keep_the_answers(empty_url, backend):
    await migrate.upgrade(empty_url)
    store = open_store(empty_url)
    try:
        for i, (domains, languages) in enumerate(
            [(["web"], ["go"]), (["web", "api"], []), (["api"], ["go", "rust"]), (["db"], [])]
        ):
            await add_unit(
                store, ReviewStatus.APPROVED, confirms=i, domains=domains, languages=languages
            )
    finally:
        await store.close()
    before = await _answers(empty_url)
    assert all(len(answer) == 3 for answer in before)

    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            assert (NEW in await conn.run_sync(_indexes)) == (backend == "postgres")
            await conn.run_sync(run_alembic, "downgrade", revision_before("0013"))
            assert OLD in await conn.run_sync(_indexes)
            assert NEW not in await conn.run_sync(_indexes)
        assert await _answers(empty_url) == before
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "upgrade", "0013")
            indexes = await conn.run_sync(_indexes)
            assert (NEW in indexes, OLD in indexes) == (
                (True, False) if backend == "postgres" else (False, True)
            )
    finally:
        await engine.dispose()
    assert await _answers(empty_url) == before
