"""Migration 0011 (setup tokens) upgrades and downgrades on both backends, on a database with
users, and leaves them alone: the new table starts empty."""

from colloquy.store import migrate
from colloquy.store.factory import open_store
from tests.store.factories import T0
from tests.store.migration_support import round_trip_new_table


async def test_upgrade_and_downgrade_keep_the_users(empty_url):
    await migrate.upgrade(empty_url)
    store = open_store(empty_url)
    try:
        await store.open_setup("a" * 64, T0, keep=16)
        await store.create_user("root", "h", None, T0)
    finally:
        await store.close()

    kept, tokens = await round_trip_new_table(
        empty_url, "0011", "setup_tokens", "SELECT username FROM users"
    )
    assert kept == ["root"]
    assert tokens == 0
