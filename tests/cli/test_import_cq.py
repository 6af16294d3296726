"""``colloquy import-cq`` on the command line, on both backends: the summary, the roles it was
told, the pepper note, and a clear error for a source that is not a reference database."""

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from colloquy.cli import app
from colloquy.cli.import_cq import PEPPER_NOTE
from tests.support.live import free_port

FIXTURE_DB = Path(__file__).resolve().parents[1] / "fixtures" / "cq-reference-server" / "cq.db"
FIRST_RUN = [
    "imported: 17 of 17 units added, 2 of 2 users added, 3 of 3 API keys added "
    "(the rest were already present)",
]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str):
    for name in [n for n in os.environ if n.startswith("CQ_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    def run(*args: str, code: int = 0) -> Result:
        flags = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
        result = CliRunner().invoke(app, [*args, *flags])
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def source(tmp_path: Path) -> str:
    copy = tmp_path / "cq.db"
    shutil.copyfile(FIXTURE_DB, copy)
    return str(copy)


def test_it_summarises_and_a_second_run_adds_nothing(
    cli, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CQ_API_KEY_PEPPER", "fixture-pepper-0123456789abcdef")
    first = cli("import-cq", source)
    assert first.stdout.splitlines() == [*FIRST_RUN, "admin: alice"]
    assert PEPPER_NOTE not in first.stderr
    second = cli("import-cq", source)
    assert second.stdout.splitlines() == [
        "imported: 0 of 17 units added, 0 of 2 users added, 0 of 3 API keys added "
        "(the rest were already present)"
    ]


def test_flags_pick_the_roles_and_a_generated_pepper_is_pointed_out(cli, source: str) -> None:
    done = cli("import-cq", source, "--admin", "bob", "--role", "member")
    assert done.stdout.splitlines() == [*FIRST_RUN, "admin: bob"]
    assert PEPPER_NOTE in done.stderr
    users = [line.split("\t")[:2] for line in cli("user", "list").stdout.splitlines()]
    assert users[-2:] == [["alice", "member"], ["bob", "admin"]]


def test_a_source_that_is_not_a_reference_database_is_refused(cli, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    other.write_bytes(b"")  # an empty SQLite database has no tables
    done = cli("import-cq", str(other), code=1)
    assert done.stderr.strip() == (
        f"error: {other}: not a cq reference server database "
        "(no api_keys, knowledge_units, users table)"
    )
    done = cli("import-cq", str(tmp_path / "missing.db"), code=1)
    assert done.stderr.strip() == f"error: {tmp_path / 'missing.db'}: no such file"


def test_a_source_url_password_is_never_shown(cli) -> None:
    url = f"postgresql://reader:hunter2-secret@127.0.0.1:{free_port()}/cq"
    done = cli("import-cq", url, code=1)
    assert "hunter2" not in done.output
    assert done.stderr.startswith("error: cannot read postgresql://reader:***@127.0.0.1:")
