"""A real ``colloquy serve`` process under test, its credentials, its memory and its CPU.

The server runs exactly as deployed (the CLI, uvicorn, its own data directory and secrets) on a
free loopback port. Memory is read from ``/proc/<pid>/status`` (``VmRSS``) of the server and
its worker processes, sampled in a thread while the load runs, because the peak under load,
not the idle size, is what has to fit in a small container. CPU is read from
``/proc/<pid>/stat`` before and after a workload, for the server, PostgreSQL and the load
generator: client and server share the machine's cores, and this says who used them.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.live import COLLOQUY, LiveServer, live_server

BENCH_USER = "bench"
BENCH_PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway account in a throwaway database
STARTUP_TIMEOUT = 120.0


def rss_kib(pid: int) -> int:
    """Resident memory of one process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes with ``--workers``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User plus system CPU seconds of each process (those gone are left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


class CpuMeter:
    """Cores used over a span by each of some process trees (by name), and by this process."""

    def __init__(self, roots: dict[str, int]) -> None:
        self._roots = roots
        self._before: dict[str, dict[int, float]] = {}
        self._started = 0.0

    def _read(self) -> dict[str, dict[int, float]]:
        trees = {name: cpu_seconds(process_tree(pid)) for name, pid in self._roots.items()}
        return trees | {"client": {os.getpid(): time.process_time()}}

    def start(self) -> None:
        self._before, self._started = self._read(), time.monotonic()

    def seconds(self) -> tuple[dict[str, float], float]:
        """Per tree, CPU seconds since ``start`` (processes that started since count from
        zero), and the wall seconds they were spent in."""
        after, wall = self._read(), time.monotonic() - self._started
        used = {
            name: sum(t - self._before[name].get(pid, 0.0) for pid, t in times.items())
            for name, times in after.items()
        }
        return used, wall

    def cores(self) -> dict[str, float]:
        """Per tree, CPU seconds since ``start`` over wall seconds."""
        used, wall = self.seconds()
        return {name: round(seconds / wall, 2) for name, seconds in used.items()}


@dataclass
class MemorySampler:
    """Peak VmRSS of a process tree: the largest single process and the whole tree."""

    pid: int
    interval: float = 0.1
    peak_process_kib: int = 0
    peak_total_kib: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        sizes = [rss_kib(p) for p in process_tree(self.pid)]
        self.peak_process_kib = max(self.peak_process_kib, *sizes, 0)
        self.peak_total_kib = max(self.peak_total_kib, sum(sizes))

    def reset(self) -> None:
        self.peak_process_kib = self.peak_total_kib = 0

    def __enter__(self) -> MemorySampler:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def credentials(server: LiveServer) -> tuple[str, str]:
    """An API key (for propose and confirm) and a session token (for review stats), made the
    way an operator would: the CLI creates the admin and the key, the API signs in."""
    server.cli("user", "create", BENCH_USER, "--role", "admin", "--password-stdin",
               stdin=BENCH_PASSWORD + "\n")  # fmt: skip
    key = server.cli("key", "create", "--user", BENCH_USER, "--name", "bench", "--ttl", "1d")
    body = json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD}).encode()
    login = urllib.request.Request(  # noqa: S310 - loopback http
        f"{server.base_url}/api/v1/auth/login",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(login, timeout=30) as response:  # noqa: S310 - loopback http
        token = json.load(response)["token"]
    return key.strip().splitlines()[-1], token


@contextmanager
def serve(
    data_dir: Path,
    database_url: str,
    workers: int = 1,
    settings: dict[str, str] | None = None,
    program: Path = COLLOQUY,
) -> Iterator[LiveServer]:
    """``colloquy serve --no-migrate`` (the database is migrated by the loader) until exit;
    ``settings`` are extra ``CQ_*`` variables for the server and its CLI. Semantic re-ranking
    is off unless asked for: with the extra installed, a server would otherwise start
    embedding the whole corpus while it is measured. ``program``: the ``colloquy`` executable
    (the baseline checkout's, in an A/B)."""
    # Warning level: an access-log line per request would load the server being measured.
    with live_server(
        data_dir,
        database_url,
        workers,
        extra_args=("--no-migrate",),
        log_level="warning",
        settings={"CQ_SEMANTIC": "off", **(settings or {})},
        program=program,
    ) as server:
        yield server
