"""SIGKILL of every server process in the middle of a write burst, on both backends: after a
restart every acknowledged (201) write is there."""

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.live.helpers import (
    BACKENDS,
    TIMEOUT,
    WriteLog,
    deploy,
    process_tree,
    sustained_writes,
)
from tests.support.live import live_server

# uvicorn's supervisor and its workers on PostgreSQL; a single process on SQLite.
WORKERS = {"postgres": 2, "sqlite": 1}
CONFIRMED_UNITS = 4
# Acknowledged writes wanted before the kill, so that it lands in a burst in full flow.
BEFORE_KILL = 150


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_mid_burst_keeps_every_acknowledged_write(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pg = request.getfixturevalue("pg_server") if backend == "postgres" else None
    workers = WORKERS[backend]
    with deploy(backend, tmp_path, pg, workers=workers, admin_role="admin") as running:
        targets = [running.approved_unit() for _ in range(CONFIRMED_UNITS)]
        stop, log = asyncio.Event(), WriteLog()
        writes = asyncio.create_task(
            sustained_writes(running.base_url, running.api_key, stop, log, 16, targets)
        )
        while len(log.proposed) + log.confirmed.total() < BEFORE_KILL:
            assert not writes.done(), writes
            await asyncio.sleep(0.02)
        processes = process_tree(running.server.process.pid)
        assert len(processes) >= workers
        for pid in processes:
            os.kill(pid, signal.SIGKILL)
        running.server.process.wait()
        await asyncio.sleep(0.5)  # requests in flight fail; nothing answers any more
        stop.set()
        await writes
        print(
            f"\n[{backend}] SIGKILL of {len(processes)} processes after {len(log.proposed)} "
            f"proposals and {log.confirmed.total()} confirmations acknowledged; "
            f"{log.unanswered} requests unanswered; statuses {dict(log.statuses)}"
        )
        assert log.unanswered > 0  # the kill cut requests off mid-flight

        env = running.server.env
        with live_server(
            Path(env["CQ_DATA_DIR"]), env.get("CQ_DATABASE_URL"), workers
        ) as restarted:
            async with httpx.AsyncClient(
                base_url=restarted.base_url, headers=running.jwt_headers, timeout=TIMEOUT
            ) as http:
                proposed = [unit_id for _, unit_id in log.proposed]
                answers = await asyncio.gather(*(http.get(f"/api/v1/review/{u}") for u in proposed))
                missing = [
                    u for u, r in zip(proposed, answers, strict=True) if r.status_code != 200
                ]
                assert not missing, f"{len(missing)} of {len(proposed)} acknowledged units lost"
                for unit_id in targets:
                    unit = (await http.get(f"/api/v1/review/{unit_id}")).json()["knowledge_unit"]
                    # One from the approval, one per acknowledged confirmation (an unanswered
                    # one may have landed too).
                    assert unit["evidence"]["confirmations"] >= 1 + log.confirmed[unit_id]
