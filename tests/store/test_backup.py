"""The SQLite backup module on its own: what it writes, what it refuses, what it leaves."""

import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from colloquy.store.backup import STEP_PAGES, BackupError, backup
from colloquy.store.sqlite import sqlite_url


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A WAL database of a few steps' worth of pages."""
    path = tmp_path / "source.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
        db.executemany("INSERT INTO blobs (body) VALUES (randomblob(3000))", [()] * 3000)
    return path


def rows(path: Path) -> list[tuple[int, bytes]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT id, body FROM blobs ORDER BY id").fetchall()


def test_copies_in_steps_with_progress_into_a_private_file(source: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "copy.db"
    output.parent.mkdir()
    steps: list[tuple[int, int]] = []
    size = backup(
        sqlite_url(source), output, progress=lambda done, total: steps.append((done, total))
    )
    assert size == output.stat().st_size
    assert rows(output) == rows(source)
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    total = steps[-1][1]
    assert len(steps) == -(-total // STEP_PAGES) > 1
    assert [done for done, _ in steps] == sorted(done for done, _ in steps)
    assert steps[-1] == (total, total)
    assert [p.name for p in output.parent.iterdir()] == ["copy.db"]  # nothing beside it
    with closing(sqlite3.connect(output)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_refuses_to_overwrite_unless_asked(source: Path, tmp_path: Path) -> None:
    output = tmp_path / "copy.db"
    output.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="exists; pass --force"):
        backup(sqlite_url(source), output)
    assert output.read_bytes() == b"keep me"
    backup(sqlite_url(source), output, overwrite=True)
    assert rows(output) == rows(source)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:p@localhost/colloquy", "pg_dump"),
        ("sqlite:///{tmp}/absent.db", "no SQLite database at"),
        ("sqlite:///{tmp}/not-a-database.db", "file is not a database"),
    ],
)
def test_refusals_write_nothing(url: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "not-a-database.db").write_bytes(b"this is not SQLite" * 300)
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(BackupError, match=message):
        backup(url.format(tmp=tmp_path), output / "copy.db")
    assert list(output.iterdir()) == []
