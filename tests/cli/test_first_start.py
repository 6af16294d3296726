"""The first start's next step: with no user yet, ``serve`` says how to create the first admin,
with a command that works from where the server was started and uses the same database."""

import re
import sys
from pathlib import Path

import pytest

from colloquy.cli import first_start
from colloquy.clock import now
from colloquy.config import Settings
from colloquy.domain.models import Role
from colloquy.store.protocol import Store
from tests.support.live import live_server


async def test_no_user_gets_the_command_that_creates_the_first_admin(
    store: Store, settings: Settings
) -> None:
    step = await first_start.next_step(store, settings, {})
    assert step is not None
    assert "no user yet: create the first admin with `" in step
    assert " user create NAME` in another terminal (it asks for a password)" in step
    assert step.endswith("then sign in at http://127.0.0.1:3000/")

    await store.create_user("alice", "not-a-real-hash", Role.ADMIN, now(), "test")
    assert await first_start.next_step(store, settings, {}) is None


async def test_the_command_repeats_the_shared_flags_with_no_password(
    store: Store, settings: Settings
) -> None:
    given = {"data_dir": Path("/srv/my data"), "database_url": "postgresql://cq:s3cret@db/cq"}
    step = await first_start.next_step(store, settings, given)
    assert step is not None
    assert (
        "user create NAME --data-dir '/srv/my data' --database-url 'postgresql://cq:***@db/cq'`"
        in step
    )
    assert "s3cret" not in step


def test_the_program_is_named_as_it_can_be_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    program = tmp_path / "bin" / "colloquy"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(program), "serve"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert first_start.program() == str(program)  # not on PATH: the path it was started by
    monkeypatch.setenv("PATH", f"{program.parent}:/usr/bin:/bin")
    assert first_start.program() == "colloquy"


def test_the_dashboard_address_is_one_a_browser_can_open() -> None:
    def url(host: str) -> str:
        return first_start.dashboard_url(Settings(host=host, port=8080))

    assert url("0.0.0.0") == "http://127.0.0.1:8080/"
    assert url("::1") == "http://[::1]:8080/"
    assert url("cq.internal") == "http://cq.internal:8080/"


def test_serve_logs_the_next_step_only_while_no_user_exists(tmp_path: Path) -> None:
    first = re.compile(r"INFO colloquy: no user yet: create the first admin with `\S*colloquy ")
    with live_server(tmp_path) as server:
        assert first.search(log_of(tmp_path, server.base_url))
        server.cli("user", "create", "alice", "--password-stdin", stdin="a long password\n")
    with live_server(tmp_path) as server:
        assert "no user yet" not in log_of(tmp_path, server.base_url)


def log_of(data_dir: Path, base_url: str) -> str:
    port = base_url.rsplit(":", 1)[1]
    return (data_dir / f"server-{port}.log").read_text()
