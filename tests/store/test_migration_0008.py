"""Migration 0008 backfills the tag words of units stored before it, on both backends, so that
hybrid ranking finds them by alias and by text; browse search still matches text only."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from colloquy.domain.models import ReviewStatus
from colloquy.store.factory import async_url, open_store
from colloquy.store.protocol import QuerySpec, Ranking, UnitFilter
from tests.store.migration_support import run_alembic

_INSERT = (
    "INSERT INTO units (id, status, tier, version, confidence, confirmations, flag_count, "
    "created_at, last_confirmed, created_by, summary, detail, action, domains, domain_count, "
    "languages, frameworks, pattern, pattern_key) VALUES (:id, 'approved', 'local', 1, 5000, "
    "1, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'old', :summary, 'd', 'a', :domains, 1, "
    "'[\"Python3.11\"]', '[]', '', '')"
)


async def test_upgrade_backfills_and_ranks_existing_units(empty_url):
    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "upgrade", "0006")
            for n, (domain, summary) in enumerate(
                [("k8s-probes", "Liveness restarts"), ("mysql", "Replication lag")]
            ):
                await conn.execute(
                    text(_INSERT),
                    {"id": f"ku_{n:032x}", "summary": summary, "domains": f'["{domain}"]'},
                )
            await conn.execute(
                text(
                    "INSERT INTO unit_domains (domain, feature, unit_id, domain_count, "
                    "domain_set, language_set, framework_set, pattern_key, confidence, rank) "
                    "SELECT 'k8s-probes', '', id, 1, ',\"k8s-probes\",', ',', ',', '', 5000, "
                    "5000.0 FROM units WHERE id = :id"
                ),
                {"id": f"ku_{0:032x}"},
            )
            await conn.run_sync(run_alembic, "upgrade", "0008")
            words = await conn.execute(text("SELECT tag_text FROM units ORDER BY id"))
            assert words.scalars().all() == ["k8s probe python", "mysql python"]
    finally:
        await engine.dispose()
    store = open_store(async_url(empty_url))
    try:
        spec = QuerySpec(domains=["kubernetes", "probe"], ranking=Ranking.HYBRID)
        assert [u.id for u in await store.query(spec)] == [f"ku_{0:032x}"]
        by_text = QuerySpec(domains=[], q="replication", ranking=Ranking.HYBRID)
        assert [u.id for u in await store.query(by_text)] == [f"ku_{1:032x}"]
        # browse search matches the text, not the tag words
        browse = await store.page_units(UnitFilter(text="probe"), None, 10)
        assert browse.items == []
        browse = await store.page_units(
            UnitFilter(text="liveness", status=ReviewStatus.APPROVED), None, 10
        )
        assert [i.unit.id for i in browse.items] == [f"ku_{0:032x}"]
    finally:
        await store.close()


async def test_downgrade_and_upgrade_again(empty_url):
    engine = create_async_engine(async_url(empty_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_alembic, "upgrade", "0008")
            await conn.run_sync(run_alembic, "downgrade", "0006")
            await conn.run_sync(run_alembic, "upgrade", "0008")
    finally:
        await engine.dispose()
