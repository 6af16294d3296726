"""The first start's next step: with no user yet, ``serve`` says how to create the first admin,
with a command that works from where the server was started and uses the same database."""

import re
import sys
from pathlib import Path

import pytest

from colloquy.cli import first_start
from colloquy.config import Settings
from tests.support.live import live_server


def test_the_setup_link_comes_with_the_command_that_creates_the_first_admin(
    settings: Settings,
) -> None:
    step = first_start.next_step("tok-en_1", settings, {})
    assert step is not None
    assert step.startswith(
        "no users yet — open http://127.0.0.1:3000/setup?token=tok-en_1 to create the first admin"
    )
    assert " user create NAME --role admin` in another terminal (it asks for a password)" in step
    assert first_start.next_step(None, settings, {}) is None  # a user exists: no token minted


def test_the_command_repeats_the_shared_flags_with_no_password(settings: Settings) -> None:
    given = {"data_dir": Path("/srv/my data"), "database_url": "postgresql://cq:s3cret@db/cq"}
    step = first_start.next_step("t", settings, given)
    assert step is not None
    assert (
        "--role admin --data-dir '/srv/my data' --database-url 'postgresql://cq:***@db/cq'`" in step
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

    assert url("127.0.0.1") == "http://127.0.0.1:8080/"
    assert url("0.0.0.0") == "http://127.0.0.1:8080/"
    assert url("::") == "http://127.0.0.1:8080/"
    assert url("") == "http://127.0.0.1:8080/"
    assert url("::1") == "http://[::1]:8080/"
    assert url("cq.internal") == "http://cq.internal:8080/"


def test_serve_logs_the_next_step_only_while_no_user_exists(tmp_path: Path) -> None:
    first = re.compile(
        r"WARNING colloquy: no users yet — open http://\S+/setup\?token=\S+ to create"
    )
    with live_server(tmp_path) as server:
        assert first.search(log_of(tmp_path, server.base_url))
        server.cli("user", "create", "alice", "--password-stdin", stdin="a long password\n")
    with live_server(tmp_path) as server:
        assert "no users yet" not in log_of(tmp_path, server.base_url)


def log_of(data_dir: Path, base_url: str) -> str:
    port = base_url.rsplit(":", 1)[1]
    return (data_dir / f"server-{port}.log").read_text()
