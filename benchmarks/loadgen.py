"""A closed-loop HTTP/1.1 load generator on raw asyncio streams, loopback only.

Why not httpx: on a two-core machine the client competes with the server for CPU, and a full
HTTP client library spends several times more per request than the server's health route.
A minimal keep-alive client (write a request, read headers, read ``Content-Length`` bytes)
keeps the client's share small and, above all, the same for every workload, so ratios to
``/api/v1/health`` compare like with like.

Closed loop: each of ``concurrency`` workers holds one connection and sends its next request
only when the previous answer arrived. A run stops at ``duration`` seconds or ``max_requests``,
whichever comes first; requests still in flight then are finished but not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_REQUESTS = 1_000_000
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 60.0
# The workers' random sources derive from it (``worker_rng``).
SEED = 1


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


# Builds the next request of a workload; each worker passes its own seeded RNG.
RequestFactory = Callable[[random.Random], Request]


@dataclass
class Result:
    """Latencies (seconds) of the counted requests, and how many answered non-2xx."""

    workload: str
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile in seconds (0 when nothing was measured)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        rank = math.ceil(q / 100 * len(ordered))
        return ordered[max(0, min(len(ordered), rank) - 1)]

    def summary(self) -> dict[str, float | int | str | dict[str, int]]:
        """The JSON form stored in results: milliseconds, requests per second."""
        ordered = sorted(self.latencies)
        return {
            "workload": self.workload,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "errors": self.errors,
            "throughput": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50) * 1000, 2),
            "p90_ms": round(self.percentile(90) * 1000, 2),
            "p99_ms": round(self.percentile(99) * 1000, 2),
            "max_ms": round((ordered[-1] if ordered else 0.0) * 1000, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


class HttpError(Exception):
    """The server answered something this client cannot parse, or closed mid-answer."""


def _loopback_target(base_url: str) -> tuple[str, int]:
    """Host and port of ``base_url``, refusing anything but a loopback address."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    address = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    if not address.is_loopback or parts.scheme != "http":
        raise ValueError(f"load is only ever sent to http://loopback, not {base_url!r}")
    return host, parts.port or 80


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, req: Request) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), CONNECT_TIMEOUT
            )
        assert self._reader is not None
        head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{name}: {value}" for name, value in req.headers]
        if req.body or req.method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(req.body)}")
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + req.body)
        try:
            return await self._read_response(self._reader)
        except (HttpError, asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            raise

    async def _read_response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise HttpError(lines[0]) from exc
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked(reader)
        else:
            raise HttpError("response without Content-Length")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                return b"".join(parts)
            parts.append(data[:-2])

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def worker_rng(index: int, seed: int = SEED) -> random.Random:
    """The random source of worker ``index``: the requests it sends are a fixed sequence, so
    a run's requests can be drawn again away from the server (``sql_floor``)."""
    return random.Random(seed * 1000 + index)


async def run(
    base_url: str,
    workload: str,
    factory: RequestFactory,
    duration: float,
    concurrency: int = 8,
    max_requests: int = MAX_REQUESTS,
    warmup: float = 0.0,
    seed: int = SEED,
    on_measure: Callable[[], None] | None = None,
) -> Result:
    """Drive ``factory``'s requests at ``base_url`` and measure them.

    ``warmup`` seconds of requests come first and are not counted (connection set-up, the
    server's first-request caches). Transport failures count as errors, like non-2xx answers.
    ``on_measure`` is called as counting starts, so that a CPU meter covers the counted span.
    """
    host, port = _loopback_target(base_url)
    result = Result(workload=workload, concurrency=concurrency)
    measuring = False
    stop_at = time.perf_counter() + warmup + duration
    budget = max_requests

    async def worker(index: int) -> None:
        nonlocal budget
        rng = worker_rng(index, seed)
        conn = Connection(host, port)
        try:
            while time.perf_counter() < stop_at and budget > 0:
                req = factory(rng)
                started = time.perf_counter()
                try:
                    status, _body = await asyncio.wait_for(conn.request(req), REQUEST_TIMEOUT)
                except (OSError, HttpError, asyncio.IncompleteReadError, TimeoutError):
                    status = 0
                elapsed = time.perf_counter() - started
                if not measuring or time.perf_counter() > stop_at or budget <= 0:
                    continue
                budget -= 1
                result.latencies.append(elapsed)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if not 200 <= status < 300:
                    result.errors += 1
        finally:
            await conn.close()

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    await asyncio.sleep(warmup)
    if on_measure is not None:
        on_measure()
    measuring = True
    measured_from = time.perf_counter()
    await asyncio.gather(*tasks)
    result.seconds = min(time.perf_counter(), stop_at) - measured_from
    return result
