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

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run a ``colloquy`` subcommand against this server's database; its stdout."""
        done = subprocess.run(
            [str(COLLOQUY), *args],
            env=self.env,
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=True,
            timeout=60,
        )
        return done.stdout.decode()


def server_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQ_")}
    env["CQ_DATA_DIR"] = str(data_dir)
    env["CQ_LOG_LEVEL"] = "warning"
    if database_url is not None:
        env["CQ_DATABASE_URL"] = database_url
    return env


@contextmanager
def live_server(
    data_dir: Path, database_url: str | None = None, workers: int = 1
) -> Iterator[LiveServer]:
    port = free_port()
    env = server_env(data_dir, database_url)
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [str(COLLOQUY), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, data_dir / "server.log")
        yield LiveServer(base_url=base_url, env=env, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()[-3000:]}")
