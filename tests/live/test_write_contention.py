"""Every kind of write at once through ``colloquy serve --workers 2`` on PostgreSQL:
proposals, approvals, rejections, confirmations and flags, all adding to the same counters.

No request may fail (a deadlock or a lock wait must never reach a caller as a 5xx), PostgreSQL
must log no deadlock at all (every write takes its locks in one order), and every count
afterwards equals what the server acknowledged. Wall time and request rate are printed (-s).
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from colloquy.domain import scoring
from tests.live.helpers import TIMEOUT, Deployment, deploy, propose_body, unique
from tests.support.pgserver import PostgresServer

WORKERS = 2
CONNECTIONS = 16
CHAINS = 48  # each proposes a unit, then decides it: every fourth is rejected
TARGETS = 4  # approved units that are confirmed and flagged meanwhile
CONFIRMS = 12  # per target
FLAGS = 4  # per target


def rejected(chain: int) -> bool:
    return chain % 4 == 3


async def test_concurrent_writes_of_every_kind_count_exactly(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    domain = unique()
    with deploy(
        "postgres",
        tmp_path,
        pg_server,
        workers=WORKERS,
        admin_role="admin",
    ) as running:
        targets = [running.approved_unit(domain) for _ in range(TARGETS)]
        log_start = pg_server.log_path.stat().st_size
        responses, seconds = await contend(running, domain, targets)
        new_log = pg_server.log_path.read_bytes()[log_start:].decode(errors="replace")
        print(
            f"\n[postgres] --workers {WORKERS}, {CONNECTIONS} connections: {len(responses)} "
            f"writes in {seconds:.2f}s ({len(responses) / seconds:.0f} req/s)"
        )

        statuses = Counter((kind, r.status_code) for kind, r in responses)
        assert not [r.text for _, r in responses if r.status_code >= 500]
        approvals = CHAINS - sum(map(rejected, range(CHAINS)))
        assert statuses == {
            ("propose", 201): CHAINS,
            ("approve", 200): approvals,
            ("reject", 200): CHAINS - approvals,
            ("confirm", 201): TARGETS * CONFIRMS,
            ("flag", 201): TARGETS * FLAGS,
        }
        assert "deadlock detected" not in new_log

        approved_ids = targets + [r.json()["unit_id"] for kind, r in responses if kind == "approve"]
        listed = running.request(
            "GET",
            "/api/v1/review/units",
            running.jwt_headers,
            params={"domain": domain, "status": "approved", "limit": 100},
        ).json()
        units = {item["knowledge_unit"]["id"]: item["knowledge_unit"] for item in listed}
        assert sorted(units) == sorted(approved_ids)
        for target in targets:
            assert units[target]["evidence"]["confirmations"] == 1 + CONFIRMS
            assert len(units[target]["flags"]) == FLAGS

        n_approved = TARGETS + approvals
        knowledge = running.request("GET", "/api/v1/knowledge/stats", running.key_headers).json()
        assert knowledge["total_count"] == TARGETS + CHAINS
        assert sum(knowledge["tier_counts"].values()) == n_approved
        assert knowledge["domain_counts"][domain] == n_approved
        assert knowledge["confidence_distribution"] == buckets(
            units.values(), scoring.KNOWLEDGE_BUCKETS
        )

        review = running.request("GET", "/api/v1/review/stats", running.jwt_headers).json()
        assert review["counts"] == {
            "pending": 0,
            "approved": n_approved,
            "rejected": CHAINS - approvals,
        }
        assert review["confidence_distribution"] == buckets(units.values(), scoring.REVIEW_BUCKETS)
        days = review["trends"]["daily"]
        assert sum(d["proposed"] for d in days) == TARGETS + CHAINS
        assert sum(d["approved"] for d in days) == n_approved
        assert sum(d["rejected"] for d in days) == CHAINS - approvals


async def contend(
    running: Deployment, domain: str, targets: list[str]
) -> tuple[list[tuple[str, httpx.Response]], float]:
    """All the writes at once over ``CONNECTIONS`` connections: (kind, response) each."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    done: list[tuple[str, httpx.Response]] = []
    async with httpx.AsyncClient(base_url=running.base_url, limits=limits, timeout=TIMEOUT) as http:

        async def send(kind: str, path: str, headers: dict[str, str], body: Any = None) -> None:
            done.append((kind, await http.post(path, json=body, headers=headers)))

        async def chain(i: int) -> None:
            proposed = await http.post(
                "/api/v1/knowledge",
                json=propose_body(domain, f"contention {i}"),
                headers=running.key_headers,
            )
            done.append(("propose", proposed))
            if proposed.status_code == 201:
                kind = "reject" if rejected(i) else "approve"
                path = f"/api/v1/review/{proposed.json()['id']}/{kind}"
                await send(kind, path, running.jwt_headers)

        writes = [chain(i) for i in range(CHAINS)]
        for target in targets:
            path = f"/api/v1/knowledge/{target}"
            writes += [
                send("confirm", f"{path}/confirmations", running.key_headers)
                for _ in range(CONFIRMS)
            ]
            writes += [
                send("flag", f"{path}/flags", running.key_headers, {"reason": "stale"})
                for _ in range(FLAGS)
            ]
        # Interleaved, so that every kind of write is in flight from the start.
        writes = writes[::2] + writes[1::2]
        start = time.perf_counter()
        await asyncio.gather(*writes)
        seconds = time.perf_counter() - start
    return done, seconds


def buckets(units: Iterable[dict[str, Any]], edges: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """The confidence distribution of ``units`` as the stats routes bucket it."""
    counts = dict.fromkeys((label for label, _ in edges), 0)
    for unit in units:
        points = scoring.to_points(unit["evidence"]["confidence"])
        label = max((edge, label) for label, edge in edges if edge <= points)[1]
        counts[label] += 1
    return counts
