"""Messages that help: each error names what to change (the flag or variable it came from, the
user it could not find), the help shows defaults and explains, and listings have headers."""

import asyncio
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from colloquy.cli import app
from colloquy.security import api_keys
from colloquy.services.accounts import AccountService
from colloquy.services.errors import InvalidApiKey
from colloquy.services.throttle import LoginThrottle
from colloquy.store.factory import open_store

PASSWORD = "a password long enough\n"
PEPPER_A, PEPPER_B = "a" * 40, "b" * 40

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("CQ_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "200")  # help text on one line per option


def invoke(*args: str, code: int = 0, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Run:
    """The command line on the test's backend (a fresh, empty database)."""

    def run(*args: str, code: int = 0, stdin: str | None = None) -> Result:
        shared = ["--data-dir", str(tmp_path), "--database-url", database_url]
        return invoke(*shared, *args, code=code, stdin=stdin)

    return run


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_port_in_use_is_named_before_any_migration(busy_port: int, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = invoke("serve", "--port", str(busy_port), "--data-dir", str(data), code=1)
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port or CQ_PORT" in result.stderr
    assert not (data / "colloquy.db").exists()  # said before migrating, not after


def test_a_port_in_use_from_the_environment_is_named_too(
    busy_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CQ_PORT", str(busy_port))
    result = invoke("serve", "--data-dir", str(tmp_path), code=1)
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.stderr
    assert not (tmp_path / "colloquy.db").exists()


@pytest.mark.parametrize(
    ("url", "problem"),
    [("no-scheme-here", "is not a database URL"), ("mysql://u@h/db", "unsupported database")],
)
def test_a_bad_url_names_where_it_came_from(
    url: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged = invoke("user", "list", "--data-dir", str(tmp_path), "--database-url", url, code=1)
    assert problem in flagged.stderr
    assert "--database-url" in flagged.stderr
    assert "CQ_DATABASE_URL" not in flagged.stderr

    monkeypatch.setenv("CQ_DATABASE_URL", url)
    from_variable = invoke("migrate", "--data-dir", str(tmp_path), code=1)
    assert problem in from_variable.stderr
    assert "CQ_DATABASE_URL" in from_variable.stderr
    assert "--database-url" not in from_variable.stderr


def test_an_unknown_user_is_named(cli: Run) -> None:
    for args in (
        ("user", "set-role", "ghost", "member"),
        ("user", "delete", "ghost"),
        ("key", "create", "--user", "ghost", "--name", "laptop"),
        ("key", "list", "--user", "ghost"),
    ):
        assert "no user named 'ghost'" in cli(*args, code=1).stderr
    changed = cli("user", "set-password", "ghost", "--password-stdin", stdin=PASSWORD, code=1)
    assert "no user named 'ghost'" in changed.stderr


def test_the_help_shows_defaults_and_explains() -> None:
    serve = invoke("serve", "--help").stdout
    assert "[env var: CQ_HOST] [default: (127.0.0.1)]" in serve
    assert "[env var: CQ_PORT] [default: (3000)]" in serve
    assert "[default: ($XDG_DATA_HOME/colloquy, else ~/.local/share/colloquy)]" in serve
    create = invoke("key", "create", "--help").stdout
    assert "What the key is for (e.g. the machine or agent that uses it)" in create
    users = invoke("user", "--help").stdout
    assert "members (hold API keys only" in users


def test_listings_have_headers(cli: Run) -> None:
    cli("user", "create", "alice", "--password-stdin", stdin=PASSWORD)
    token = cli("key", "create", "--user", "alice", "--name", "laptop").stdout.strip()
    users = cli("user", "list").stdout.splitlines()
    assert users[0] == "username\trole\tcreated_at"
    assert users[1].startswith("alice\tadmin\t")
    keys = cli("key", "list", "--user", "alice").stdout.splitlines()
    assert keys[0] == "id\tname\tprefix\tstate\texpires_at"
    assert keys[1].startswith(f"{token.split('.')[2]}\tlaptop\t")


def export_under(
    pepper: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[str]]:
    """An export of a SQLite server whose pepper is ``pepper`` (one user with two keys), and
    the keys' tokens."""
    monkeypatch.setenv("CQ_API_KEY_PEPPER", pepper)
    source, output = tmp_path / "source", tmp_path / "export.jsonl"
    invoke("user", "create", "alice", "--password-stdin", "--data-dir", str(source), stdin=PASSWORD)
    tokens = [
        invoke(
            "key", "create", "--user", "alice", "--name", name, "--data-dir", str(source)
        ).stdout.strip()
        for name in ("laptop", "ci")
    ]
    invoke("export", "--output", str(output), "--data-dir", str(source))
    return output, tokens


def accepted(database_url: str, pepper: str, token: str) -> bool:
    """Whether a server with ``pepper`` on this database takes the key ``token``."""

    async def check() -> bool:
        store = open_store(database_url)
        throttle = LoginThrottle(store, pepper, free_per_user=5, free_per_address=20)
        accounts = AccountService(store, "s" * 40, pepper, timedelta(hours=1), throttle)
        try:
            await accounts.authenticate_key(token)
            return True
        except InvalidApiKey:
            return False
        finally:
            await store.close()

    return asyncio.run(check())


def test_an_export_carries_a_fingerprint_of_its_pepper_not_the_pepper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported, _tokens = export_under(PEPPER_A, tmp_path, monkeypatch)
    text = exported.read_text()
    header = json.loads(text.splitlines()[0])
    assert header["pepper_fingerprint"] == api_keys.pepper_fingerprint(PEPPER_A)
    assert header["pepper_fingerprint"] != api_keys.pepper_fingerprint(PEPPER_B)
    assert PEPPER_A not in text


def test_importing_under_another_pepper_warns_that_every_key_will_be_refused(
    cli: Run, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported, tokens = export_under(PEPPER_A, tmp_path, monkeypatch)
    monkeypatch.setenv("CQ_API_KEY_PEPPER", PEPPER_B)
    imported = cli("import", str(exported))
    assert "2 of 2 API keys added" in imported.stdout
    assert "exported under another CQ_API_KEY_PEPPER" in imported.stderr
    assert "refuse all 2 of its API keys" in imported.stderr
    # What the warning says is so: under this pepper every key is refused, under the old one not.
    assert not any(accepted(database_url, PEPPER_B, token) for token in tokens)
    assert all(accepted(database_url, PEPPER_A, token) for token in tokens)


def test_importing_under_the_same_pepper_does_not_warn(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported, _tokens = export_under(PEPPER_A, tmp_path, monkeypatch)
    imported = cli("import", str(exported))
    assert "2 of 2 API keys added" in imported.stdout
    assert "warning" not in imported.stderr
