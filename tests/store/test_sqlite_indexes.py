"""SQLite's ranking indexes cover every row a ranked query reads (migration 0002): at a
million units a row looked up in the table is a random read of a file of gigabytes."""

import random
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from colloquy.store import migrate
from colloquy.store.factory import open_store
from colloquy.store.protocol import QuerySpec, Store
from colloquy.store.sql.ranking import Planner
from tests.store.test_query_pruning import brute_force, corpus

SPEC = QuerySpec(domains=["python", "api"], languages=["go"], frameworks=["gin"], pattern="retry")


def _migrate(path: Path, revision: str, down: bool = False) -> None:
    """Migrate to ``revision``. Below head, ``units`` is given the column today's statements
    read that later migrations add (``tag_text``, 0008), so that only the indexes differ."""
    engine = create_engine(f"sqlite:///{path}")
    config = migrate.alembic_config()
    with engine.begin() as connection:
        names = "SELECT name FROM pragma_table_info('units')"
        columns = connection.exec_driver_sql(names).scalars().all()
        if not down and "tag_text" in columns:
            connection.exec_driver_sql("ALTER TABLE units DROP COLUMN tag_text")
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        if down:
            connection.exec_driver_sql(
                "ALTER TABLE units ADD COLUMN tag_text TEXT NOT NULL DEFAULT ''"
            )
    engine.dispose()


async def _ranking_reads(store: Store) -> list[str]:
    """How each round of ``SPEC`` reads ``unit_domains``, from SQLite's query plans."""

    def read(conn) -> list[str]:
        reads = []
        for statement, params in Planner().statements(SPEC):
            compiled = statement.compile(dialect=conn.dialect)
            values = compiled.construct_params(params)
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(compiled),
                tuple(values[name] for name in compiled.positiontup or ()),
            )
            reads += [row.detail for row in plan if "unit_domains" in row.detail]
        return reads

    return await store.database.read(read)  # type: ignore[attr-defined]


async def test_upgrade_covers_the_ranking_reads_and_downgrade_restores_them(tmp_path):
    path = tmp_path / "colloquy.db"
    _migrate(path, "head")
    archives = corpus(random.Random(5), 300)
    store = open_store(f"sqlite:///{path}")
    try:
        assert await store.import_units(archives) == len(archives)
        expected = brute_force(archives, SPEC)
        assert len(expected) == SPEC.limit
    finally:
        await store.close()

    for revision, down, covered in (
        ("0001", True, False),
        ("head", False, True),
        ("0001", True, False),
    ):
        _migrate(path, revision, down)
        store = open_store(f"sqlite:///{path}")
        try:
            reads = await _ranking_reads(store)
            assert reads and all(("COVERING INDEX" in read) is covered for read in reads), reads
            assert [unit.id for unit in await store.query(SPEC)] == expected
        finally:
            await store.close()
