"""``colloquy doctor``: rows that earlier versions stored past the input bounds are found, and
with ``--fix`` quarantined (rejected, reason noted, repaired, counters exact), after which
every page and the export work again."""

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from colloquy.cli import app
from colloquy.domain.models import FlagReason, ReviewStatus
from colloquy.services import archive
from colloquy.services.doctor import ACTOR, doctor
from colloquy.store import migrate
from colloquy.store import tables as t
from colloquy.store.factory import async_url, open_store
from colloquy.store.protocol import FlagInput, QuerySpec, Store, UnitFilter
from colloquy.store.sql.quarantine import NOTE_PREFIX
from tests.store.factories import at, new_unit
from tests.support.pgserver import PostgresServer


def nested(depth: int) -> dict[str, Any]:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = {"x": value}
    return {"ns:deep": value}


async def write_sql(url: str, unit_id: str, **values: Any) -> None:
    """Change a unit's row with plain SQL, as an earlier version's unchecked write left it."""
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.execute(update(t.units).where(t.units.c.id == unit_id).values(**values))
    await engine.dispose()


async def stored(store: Store, status: ReviewStatus = ReviewStatus.APPROVED, **unit: Any) -> str:
    created = await store.insert_unit(new_unit(**unit))
    if status is not ReviewStatus.PENDING:
        await store.decide(created.id, status, "rita", at(1))
    return created.id


async def export(store: Store) -> list[dict[str, Any]]:
    lines: list[str] = []
    await archive.export(store, lines.append)
    return [json.loads(line) for line in lines]


async def test_doctor_command_quarantines_poison_pills(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    good = await stored(store, domains=["web"])
    pill = await stored(store, domains=["web", "python"])
    large = await stored(store, status=ReviewStatus.PENDING, domains=["web"])
    await write_sql(database_url, pill, extensions=nested(300))
    await write_sql(database_url, large, extensions={"ns:big": "x" * 20_000})
    await store.flag(pill, FlagInput(reason=FlagReason.STALE), "bob", at(2))
    with pytest.raises(ValueError, match="serialization depth"):
        await export(store)

    def cli(*args: str) -> Any:
        env = {"CQ_DATA_DIR": str(tmp_path), "CQ_DATABASE_URL": database_url}
        return CliRunner().invoke(app, ["doctor", *args], env=env)

    checked = await asyncio.to_thread(cli)
    assert checked.exit_code == 1, checked.output
    lines = checked.output.splitlines()
    assert f"{pill}\tapproved\textensions must be nested at most 32 deep" in lines
    assert f"{large}\tpending\textensions must be at most 16384 bytes as JSON, got 20013" in lines
    assert lines[-1] == (
        "checked 3 units: 2 break a bound; run `colloquy doctor --fix` to quarantine them"
    )
    assert (await store.get_unit(pill)).status is ReviewStatus.APPROVED  # a report changes nothing

    fixed = await asyncio.to_thread(cli, "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.splitlines()[-1] == (
        "checked 3 units: 2 broke a bound, 2 quarantined (rejected, reason in the review note)"
    )
    again = await asyncio.to_thread(cli)
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "checked 3 units: every one is within the bounds"

    item = await store.get_unit(pill)
    assert item.status is ReviewStatus.REJECTED
    assert item.reviewed_by == ACTOR
    assert item.review_note == NOTE_PREFIX + "extensions must be nested at most 32 deep"
    assert item.unit.extensions is None
    assert len(item.unit.flags) == 1  # its history is kept
    assert [(e.kind, e.actor) for e in await store.history(pill, 10)][-1] == ("rejected", ACTOR)
    # The kept counters moved with it: only the good unit is approved, in "web" alone.
    stats = await store.stats([0])
    assert stats.status_counts == {
        ReviewStatus.PENDING: 0,
        ReviewStatus.APPROVED: 1,
        ReviewStatus.REJECTED: 2,
    }
    assert stats.domain_counts == {"web": 1}
    assert stats.confidence_points == {0: 1}
    assert [u.id for u in await store.query(QuerySpec(domains=["web", "python"]))] == [good]
    # Every page renders again, and the export holds all three units.
    assert (await store.pending_page(10, 0)) == ([], 0)
    assert len((await store.page_units(UnitFilter(), None, 10)).items) == 3
    units = [line for line in await export(store) if line["kind"] == "unit"]
    assert {line["knowledge_unit"]["id"]: line["status"] for line in units} == {
        good: "approved",
        pill: "rejected",
        large: "rejected",
    }


async def test_doctor_repairs_text_only_sqlite_stored_so_it_moves_to_postgres(
    sqlite_template: Path, pg_server: PostgresServer, tmp_path: Path
) -> None:
    """NUL, lone surrogates, NaN and a domain over 64 characters once lower-cased: SQLite kept
    them; the export then failed, or could not be imported into PostgreSQL."""
    source_path = tmp_path / "old.db"
    shutil.copyfile(sqlite_template, source_path)
    url = f"sqlite:///{source_path}"
    source = open_store(url)
    grown = "İ".lower() * 64  # 128 characters, stored over the limit
    nul = await stored(source, domains=["web", grown], summary="before\x00after")
    odd = await stored(source, status=ReviewStatus.REJECTED, domains=["web"])
    await write_sql(
        url, odd, extensions={"ns:n": float("nan")}, languages=["py\ud800"], review_note="no\x00"
    )
    before = await export(source)  # SQLite renders NUL, but PostgreSQL cannot take it
    with pytest.raises(archive.ArchiveError, match="must not contain NUL"):
        await archive.import_lines(source, [json.dumps(line) for line in before])

    report = await doctor(source, True, lambda _f: None, lambda _n: None)
    assert (report.checked, report.found, report.quarantined) == (2, 2, 2)
    repaired = (await source.get_unit(nul)).unit
    assert repaired.insight.summary == "before\ufffdafter"
    assert repaired.domains == ["web", grown[:64]]
    rejected = await source.get_unit(odd)
    assert rejected.unit.extensions is None
    assert rejected.unit.context.languages == ["py\ufffd"]
    assert rejected.reviewed_by == "rita"  # already decided: only the note says why
    assert rejected.review_note.startswith(NOTE_PREFIX)
    assert rejected.review_note.endswith("(earlier note: no\ufffd)")
    stats = await source.stats([0])
    assert stats.status_counts[ReviewStatus.REJECTED] == 2
    assert stats.domain_counts == {}
    assert stats.confidence_points == {0: 0}

    target_url = pg_server.create_database("doctor_target")
    await migrate.upgrade(target_url)
    target = open_store(target_url)
    exported = await export(source)
    deep = [*exported[:-1], dict(exported[-1])]
    deep[-1]["knowledge_unit"] = deep[-1]["knowledge_unit"] | {"extensions": nested(33)}
    with pytest.raises(archive.ArchiveError, match=r"line \d+: unit ku_\w+: extensions must be"):
        await archive.import_lines(target, [json.dumps(line) for line in deep])
    lines = [json.dumps(line) for line in exported]
    summary = await archive.import_lines(target, lines)
    assert summary.added["unit"] == 2
    moved = await target.get_unit(nul)
    assert moved.unit.insight.summary == "before\ufffdafter"
    assert moved.status is ReviewStatus.REJECTED
    assert (await target.stats([0])).status_counts[ReviewStatus.REJECTED] == 2
    await target.close()
    await source.close()
