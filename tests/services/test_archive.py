"""Moving data: SQLite -> export -> import into PostgreSQL -> export gives the same content,
and importing twice changes nothing."""

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from colloquy.domain.models import Context, FlagReason, Insight, ReviewStatus, Role
from colloquy.services import archive
from colloquy.services.accounts import AccountService
from colloquy.services.knowledge import KnowledgeService, Proposal
from colloquy.services.review import ReviewService
from colloquy.services.throttle import LoginThrottle
from colloquy.store import migrate
from colloquy.store.factory import open_store
from colloquy.store.protocol import Store
from tests.support.live import COLLOQUY, server_env
from tests.support.pgserver import PostgresServer

PASSWORD = "correct horse battery"


async def populate(store: Store) -> None:
    throttle = LoginThrottle(store, "p" * 40, free_per_user=5, free_per_address=20)
    accounts = AccountService(store, "s" * 40, "p" * 40, timedelta(hours=1), throttle)
    knowledge, review = KnowledgeService(store), ReviewService(store)
    alice = await accounts.create_user("alice", PASSWORD, Role.ADMIN, "cli")
    await accounts.create_user("bob", PASSWORD, Role.MEMBER, "cli")
    await accounts.create_key(alice, "laptop", "30d", ["ci", "home"])
    revoked = await accounts.create_key(alice, "old", "1d", [])
    await accounts.revoke_key(alice, revoked.key.record.id)
    ids = []
    for i in range(7):
        unit = await knowledge.propose(
            Proposal(
                domains=["python", f"topic-{i % 3}"],
                insight=Insight(summary=f"unit {i}", detail="why " * i, action="do it"),
                context=Context(languages=["python"], frameworks=[], pattern="retry"),
                extensions={"colloquy:rank": i} if i % 2 else None,
            ),
            "alice",
        )
        ids.append(unit.id)
    for unit_id in ids[:4]:
        await review.decide(unit_id, ReviewStatus.APPROVED, "alice")
    await review.decide(ids[4], ReviewStatus.REJECTED, "alice", "not reproducible")
    await review.decide(ids[5], ReviewStatus.REJECTED, "alice", duplicate_of=ids[0])
    await knowledge.confirm(ids[0], "bob")
    await knowledge.flag(ids[1], FlagReason.DUPLICATE, "bob", "same as 0", ids[0])


async def export(store: Store) -> list[str]:
    lines: list[str] = []
    await archive.export(store, lines.append)
    return lines


async def test_export_counts_what_it_wrote(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "source.db")
    store = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    try:
        await populate(store)
        lines: list[str] = []
        advanced: list[int] = []
        summary = await archive.export(store, lines.append, advanced.append)
        assert summary.written == {"user": 2, "api_key": 2, "unit": 7}
        assert summary.records == len(lines) - 1  # all but the header
        kinds = [json.loads(line)["kind"] for line in lines]
        assert kinds == ["colloquy-export"] + ["user"] * 2 + ["api_key"] * 2 + ["unit"] * 7
        assert advanced == [1] * 7  # the progress bar moves once per unit
        assert all(line.endswith("}\n") and line.count("\n") == 1 for line in lines)
    finally:
        await store.close()


async def test_sqlite_to_postgres_round_trip(
    sqlite_template: Path, pg_server: PostgresServer, tmp_path: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "source.db")
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    target_url = pg_server.create_database("archive_target")
    await migrate.upgrade(target_url)
    target = open_store(target_url)
    try:
        await populate(source)
        exported = await export(source)
        assert len(exported) == 1 + 2 + 2 + 7  # header, users, keys, units

        first = await archive.import_lines(target, exported)
        assert first.added == {"user": 2, "api_key": 2, "unit": 7}
        assert await export(target) == exported
        # A rejection's original came along.
        originals = [
            event["duplicate_of"]
            for line in exported[1:]
            for event in json.loads(line).get("events", [])
            if event["duplicate_of"]
        ]
        assert len(originals) == 1 and originals[0].startswith("ku_")

        again = await archive.import_lines(target, exported)
        assert again.added == {"user": 0, "api_key": 0, "unit": 0}
        assert again.read == first.read
        assert await export(target) == exported
        # The aggregates came along: stats agree between the two backends.
        assert await target.stats([0, 5000]) == await source.stats([0, 5000])
        assert (await target.stats([0])).status_counts == (await source.stats([0])).status_counts
    finally:
        await source.close()
        await target.close()
        pg_server.drop_database("archive_target")


async def test_export_and_import_commands(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "source.db")
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    await populate(source)
    await source.close()

    def cli(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = server_env(tmp_path, f"sqlite:///{database}")
        return subprocess.run(
            [str(COLLOQUY), *args], env=env, capture_output=True, text=True, timeout=120
        )

    dump = tmp_path / "all.jsonl"
    exported = cli(tmp_path / "source.db", "export", "--output", str(dump))
    assert exported.returncode == 0
    assert exported.stderr.splitlines()[-1] == f"exported 11 records to {dump}"
    done = cli(tmp_path / "target.db", "import", str(dump))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("imported: 7 of 7 units added, 2 of 2 users added")
    again = cli(tmp_path / "target.db", "import", str(dump))
    assert "imported: 0 of 7 units added, 0 of 2 users added, 0 of 2 API keys" in again.stdout
    copy = tmp_path / "copy.jsonl"
    assert cli(tmp_path / "target.db", "export", "--output", str(copy)).returncode == 0
    assert copy.read_text() == dump.read_text()

    dump.write_text('{"kind": "unit", "nonsense": true}\n')
    broken = cli(tmp_path / "target.db", "import", str(dump))
    assert broken.returncode == 1
    assert "line 1: not a colloquy export line" in broken.stderr


def header(**fields: object) -> str:
    return json.dumps({"kind": archive.FORMAT, "version": archive.FORMAT_VERSION, **fields})


def test_a_header_fingerprint_must_be_one() -> None:
    for bad in ("x" * 500, "ABCDEF0123456789", 42):
        with pytest.raises(archive.ArchiveError, match="line 1: pepper_fingerprint is not a"):
            list(archive.parse_lines([header(pepper_fingerprint=bad)]))
    good = "0123456789abcdef"
    ((_kind, parsed, _size),) = archive.parse_lines([header(pepper_fingerprint=good)])
    assert parsed["pepper_fingerprint"] == good


def test_an_export_without_a_fingerprint_warns_of_nothing() -> None:
    # Exports written before the fingerprint existed: which pepper made them is unknown.
    summary = archive.ImportSummary(read={"user": 1, "api_key": 3, "unit": 0})
    assert summary.refused_keys("p" * 40) == 0
    summary.pepper_fingerprint = "0" * 16
    assert summary.refused_keys("p" * 40) == 3
