"""The shared options (``--data-dir``, ``--database-url``, ``--db-readers``): taken before the
command or after it, a flag over the environment, the one after the command over the one before;
the flags reach the settings without being written into the environment, and values out of
bounds are refused."""

import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from colloquy.cli import app
from colloquy.cli.options import App, flags, take_root_options
from colloquy.config import MAX_DB_READERS

PASSWORD = "a password long enough\n"


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("CQ_")]:
        monkeypatch.delenv(name)
    # Nothing may land in the real home directory's default data directory.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def run(*args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result


def usernames(*args: str) -> list[str]:
    header, *rows = run(*args).stdout.splitlines()
    assert header == "username\trole\tcreated_at"
    return [line.split("\t")[0] for line in rows]


def test_the_shared_options_work_before_and_after_the_command(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    run("--data-dir", data, "user", "create", "alice", "--password-stdin", stdin=PASSWORD)
    run("user", "create", "bob", "--password-stdin", "--data-dir", data, stdin=PASSWORD)
    assert usernames("--data-dir", data, "user", "list") == ["alice", "bob"]
    assert usernames("user", "list", "--data-dir", data) == ["alice", "bob"]
    assert (tmp_path / "data" / "colloquy.db").exists()
    assert not (tmp_path / "xdg").exists()


def test_a_flag_wins_over_the_environment_and_the_later_flag_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged, other = f"sqlite:///{tmp_path / 'flagged.db'}", f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("CQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CQ_DATABASE_URL", other)
    run("--database-url", flagged, "user", "create", "root", "--password-stdin", stdin=PASSWORD)
    run("user", "create", "after", "--password-stdin", "--database-url", flagged, stdin=PASSWORD)
    assert usernames("user", "list", "--database-url", flagged) == ["after", "root"]
    assert usernames("--database-url", other, "user", "list", "--database-url", flagged) == [
        "after",
        "root",
    ]
    assert usernames("--database-url", flagged, "user", "list", "--database-url", other) == []
    assert usernames("user", "list") == []  # the environment's database got no user
    # The flags were not written into the environment (where worker processes used to get them).
    assert os.environ["CQ_DATABASE_URL"] == other
    assert "CQ_HOST" not in os.environ


def test_the_help_lists_the_shared_options_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    for command in ([], ["serve"], ["user", "list"], ["key", "create"], ["export"], ["backup"]):
        output = run(*command, "--help").stdout
        assert "--data-dir" in output
        assert "Data directory. [env var: CQ_DATA_DIR]" in output
        assert "--database-url" in output
        assert "Database URL (wins over CQ_DB_PATH). [env var: CQ_DATABASE_URL]" in output
    serve = run("serve", "--help").stdout
    for option in ("--host", "--port", "--workers", "--no-migrate"):
        assert option in serve


def readers_seen(*args: str) -> int | None:
    """``db_readers`` in the settings a command gets, on an app with the real root options."""
    seen: list[int | None] = []
    probe = App()
    probe.callback()(take_root_options)

    @probe.command()
    def show(ctx: typer.Context) -> None:
        seen.append(flags(ctx).settings().db_readers)

    @probe.command()
    def other() -> None:  # two commands, so that typer keeps ``show``'s name
        pass

    result = CliRunner().invoke(probe, list(args))
    assert result.exit_code == 0, result.output
    return seen[0]


def test_the_readers_flag_reaches_the_settings_before_or_after_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert readers_seen("show") is None  # the store's default
    assert readers_seen("--db-readers", "3", "show") == 3
    assert readers_seen("show", "--db-readers", "2") == 2
    monkeypatch.setenv("CQ_DB_READERS", "5")
    assert readers_seen("show") == 5
    assert readers_seen("show", "--db-readers", "1") == 1


@pytest.mark.parametrize("value", ["0", str(MAX_DB_READERS + 1), "many"])
def test_a_readers_count_out_of_bounds_is_refused_naming_it(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (["user", "list", "--db-readers", value], ["--db-readers", value, "user", "list"]):
        result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path)])
        assert result.exit_code == 2
        assert "Invalid value for '--db-readers'" in result.output
    monkeypatch.setenv("CQ_DB_READERS", value)
    result = CliRunner().invoke(app, ["user", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "CQ_DB_READERS" in result.output
    assert not (tmp_path / "colloquy.db").exists()  # refused before opening anything
