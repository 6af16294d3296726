"""A real ``colloquy serve`` process on a free loopback port, for client and concurrency tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

COLLOQUY = Path(sys.executable).with_name("colloquy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    program: Path = COLLOQUY  # the ``colloquy`` executable (another checkout's, for an A/B)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run a ``colloquy`` subcommand against this server's database; its stdout."""
        done = subprocess.run(
            [str(self.program), *args],
            env=self.env,
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=True,
            timeout=120,
        )
        return done.stdout.decode()


# Write limits far above what the live tests and benchmarks send with one key (they still run).
UNLIMITED_WRITES = {
    f"CQ_RATE_LIMIT_{action}": "1000000" for action in ("PROPOSE", "CONFIRM", "FLAG")
}


def server_env(
    data_dir: Path,
    database_url: str | None,
    log_level: str = "warning",
    settings: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a server or CLI process: ours without any ``CQ_*``, unlimited
    writes, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQ_")} | UNLIMITED_WRITES
    env["CQ_DATA_DIR"] = str(data_dir)
    env["CQ_LOG_LEVEL"] = log_level
    if database_url is not None:
        env["CQ_DATABASE_URL"] = database_url
    return env | (settings or {})


# uvicorn's supervisor logs "Child process [PID] died" when it kills an unresponsive worker.
RESPAWN_MARKER = "] died"


@contextmanager
def live_server(
    data_dir: Path,
    database_url: str | None = None,
    workers: int = 1,
    extra_args: tuple[str, ...] = (),
    log_level: str = "info",
    settings: dict[str, str] | None = None,
    program: Path = COLLOQUY,
) -> Iterator[LiveServer]:
    """``colloquy serve`` on a free port until the block ends; fails fast if it exits early or
    its workers are respawned (such a server would never become ready: that needs the
    supervisor's info-level log). ``program``: the ``colloquy`` executable to run (another
    checkout's, or anything that takes ``serve`` and the CLI's commands as it does)."""
    port = free_port()
    env = server_env(data_dir, database_url, log_level, settings)
    log_path = data_dir / f"server-{port}.log"
    base_url = f"http://127.0.0.1:{port}"
    # One client for all polls: a fresh one per poll costs a CPU when many servers start.
    with log_path.open("wb") as log, httpx.Client(timeout=1) as http:
        process = subprocess.Popen(
            [str(program), "serve", "--port", str(port), "--workers", str(workers), *extra_args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while not _healthy(http, base_url):
                text = log_path.read_text(errors="replace")
                assert RESPAWN_MARKER not in text, f"workers respawned:\n{text[-3000:]}"
                assert process.poll() is None, f"server exited early:\n{text[-3000:]}"
                assert time.monotonic() < deadline, f"server not healthy:\n{text[-3000:]}"
                time.sleep(0.1)
            yield LiveServer(base_url=base_url, env=env, process=process, program=program)
        except BaseException:
            _stop(process)
            # The server's side of a failure, shown with the failing test's captured output.
            text = log_path.read_text(errors="replace")
            print(f"--- {log_path} (last 5000 characters) ---\n{text[-5000:]}")
            raise
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _healthy(http: httpx.Client, base_url: str) -> bool:
    try:
        return http.get(f"{base_url}/api/v1/health").status_code == 200
    except httpx.TransportError:
        return False
