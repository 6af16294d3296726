"""``colloquy backup`` of a live SQLite server under a write burst, restored and served."""

import asyncio
import shutil
import sqlite3
import stat
import time
from contextlib import closing
from pathlib import Path

import httpx

from tests.live.helpers import (
    ADMIN,
    ADMIN_PASSWORD,
    TIMEOUT,
    WriteLog,
    bearer,
    deploy,
    login,
    propose_body,
    run_cli,
    sustained_writes,
    unique,
)
from tests.support.live import COLLOQUY, live_server

# Acknowledged proposals wanted before the backup starts, so that it copies something real.
BEFORE = 50


def assert_sound_backup(backup: Path) -> None:
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert [p.name for p in backup.parent.iterdir() if p.name.startswith(".")] == []  # no temp
    with closing(sqlite3.connect(backup)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


async def test_backup_during_writes_restores_every_acknowledged_unit(tmp_path: Path) -> None:
    backup, served = tmp_path / "backup.db", tmp_path / "served"
    served.mkdir()
    with deploy("sqlite", served) as running:
        env = running.server.env
        made_before = running.request(
            "POST",
            "/api/v1/users/me/api-keys",
            running.jwt_headers,
            json={"name": "made-before", "ttl": "7d"},
        ).json()["token"]
        stop, log = asyncio.Event(), WriteLog()
        writes = asyncio.create_task(sustained_writes(running.base_url, running.api_key, stop, log))
        while len(log.proposed) < BEFORE:
            assert not writes.done(), writes
            await asyncio.sleep(0.05)
        started = time.monotonic()
        copy = await asyncio.create_subprocess_exec(
            str(COLLOQUY),
            "backup",
            "--output",
            str(backup),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await copy.communicate()
        finished = time.monotonic()
        stop.set()
        await writes
        assert copy.returncode == 0, stderr.decode()
        during = len(log.proposed_before(finished)) - len(log.proposed_before(started))
        print(
            f"\n[sqlite] backup of {backup.stat().st_size} bytes in {finished - started:.2f}s "
            f"(process included) while {during} proposals were acknowledged; "
            f"burst statuses {dict(log.statuses)}"
        )
        assert during > 0  # the server kept writing while the backup ran
        acknowledged = log.proposed_before(started)
        # Refuses to overwrite unless asked.
        again = run_cli(env, "backup", "--output", str(backup))
        assert again.returncode == 1
        assert "exists; pass --force" in again.stderr
        secrets = Path(env["CQ_DATA_DIR"]) / "secrets.json"

    assert_sound_backup(backup)

    # Restore: the copy as the database of a fresh data directory, with the same secrets.
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copyfile(backup, restored / "colloquy.db")
    shutil.copyfile(secrets, restored / "secrets.json")
    with live_server(restored) as server:
        token = login(server.base_url, ADMIN, ADMIN_PASSWORD).json()["token"]
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=bearer(token), timeout=TIMEOUT
        ) as http:
            answers = await asyncio.gather(*(http.get(f"/api/v1/review/{u}") for u in acknowledged))
        missing = [u for u, r in zip(acknowledged, answers, strict=True) if r.status_code != 200]
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged units missing"
        # An API key made before the backup still verifies (same pepper), for reads and writes.
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=bearer(made_before), timeout=TIMEOUT
        ) as http:
            assert (await http.get("/api/v1/knowledge/stats")).status_code == 200
            created = await http.post("/api/v1/knowledge", json=propose_body(unique()))
            assert created.status_code == 201, created.text
            assert created.json()["created_by"] == ADMIN
