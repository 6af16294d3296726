"""A login flood against a live server: its peak memory and how fast it still answers health.

    python -m benchmarks.login_flood --logins 40 --rounds 3

One ``colloquy serve`` worker on a fresh SQLite database in a temporary directory, with a few
users; then ``--logins`` simultaneous sign-ins (every other one with a wrong password, spread
over the users) per round, while a prober asks ``/api/v1/health`` every 50 ms and a sampler
reads the server's resident memory. ``--setting CQ_NAME=VALUE`` passes settings to the server
(for example the login throttle's allowances, so that every sign-in of the flood is hashed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from tests.support.live import live_server

from benchmarks.server import BENCH_PASSWORD, BENCH_USER, MemorySampler, rss_kib

MIB = 1024
PROBE_INTERVAL = 0.05


async def _probe_health(http: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    """Health latencies in milliseconds, of one request started every ``PROBE_INTERVAL``
    seconds until ``stop`` (whether or not the earlier ones have answered, so that slow spells
    are sampled as often as quick ones)."""

    async def probe() -> float:
        start = time.perf_counter()
        response = await http.get("/api/v1/health")
        assert response.status_code == 200, response.text
        return (time.perf_counter() - start) * 1000

    probes = []
    while not stop.is_set():
        probes.append(asyncio.create_task(probe()))
        await asyncio.sleep(PROBE_INTERVAL)
    return list(await asyncio.gather(*probes))


async def _round(base_url: str, users: list[str], logins: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=logins, max_keepalive_connections=logins)
    async with (
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=300) as flood,
        httpx.AsyncClient(base_url=base_url, timeout=300) as prober,
    ):
        stop = asyncio.Event()
        probing = asyncio.create_task(_probe_health(prober, stop))
        start = time.perf_counter()
        responses = await asyncio.gather(
            *(
                flood.post(
                    "/api/v1/auth/login",
                    json={
                        "username": users[i % len(users)],
                        "password": BENCH_PASSWORD if i % 2 else "wrong-password",
                    },
                )
                for i in range(logins)
            )
        )
        seconds = time.perf_counter() - start
        stop.set()
        latencies = await probing
    return {
        "seconds": round(seconds, 2),
        "statuses": dict(sorted(Counter(r.status_code for r in responses).items())),
        "health_requests": len(latencies),
        "health_median_ms": round(statistics.median(latencies), 1),
        "health_p95_ms": round(statistics.quantiles(latencies, n=20)[-1], 1),
        "health_max_ms": round(max(latencies), 1),
    }


def _create_users(base_url: str, count: int) -> list[str]:
    """The admin (made with the CLI) and ``count - 1`` more users made over the API."""
    with httpx.Client(base_url=base_url, timeout=120) as http:
        body = {"username": BENCH_USER, "password": BENCH_PASSWORD}
        token = http.post("/api/v1/auth/login", json=body).json()["token"]
        users = [BENCH_USER]
        for i in range(1, count):
            name = f"user{i}"
            response = http.post(
                "/api/v1/users",
                json={"username": name, "password": BENCH_PASSWORD, "role": "member"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201, response.text
            users.append(name)
    return users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=40, help="simultaneous sign-ins per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=4, help="users the sign-ins are spread over")
    parser.add_argument("--setting", action="append", default=[], help="CQ_NAME=VALUE")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.setting)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        with live_server(data_dir, log_level="warning", settings=settings) as server:
            server.cli("user", "create", BENCH_USER, "--role", "admin", "--password-stdin",
                       stdin=BENCH_PASSWORD + "\n")  # fmt: skip
            users = _create_users(server.base_url, args.users)
            time.sleep(1.0)
            idle_kib = rss_kib(server.process.pid)
            rounds = []
            with MemorySampler(server.process.pid, interval=0.02) as memory:
                for _ in range(args.rounds):
                    rounds.append(asyncio.run(_round(server.base_url, users, args.logins)))
            result = {
                "logins": args.logins,
                "settings": settings,
                "idle_rss_mib": round(idle_kib / MIB),
                "peak_rss_mib": round(memory.peak_total_kib / MIB),
                "rounds": rounds,
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
