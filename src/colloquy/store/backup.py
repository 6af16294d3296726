"""``colloquy backup``: a consistent copy of the SQLite database, taken while the server writes.

SQLite's online backup API copies the database page by page. Copied in steps, it restarts
whenever another process commits, which under steady writes can go on for ever; so the copy runs
inside one read transaction on the source, which pins a WAL snapshot: writers go on undisturbed,
the copy never restarts, and it holds exactly what was committed when it began. It is written
under a temporary name (mode 0600), checked, flushed to disk and only then put in place.
"""

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from colloquy.store.factory import is_postgres
from colloquy.store.sqlite import BUSY_TIMEOUT_MS, database_path

# Pages copied per step (4 MiB with SQLite's default 4 KiB pages): often enough to report progress.
STEP_PAGES = 1024
PG_DUMP_HINT = (
    "colloquy backup copies SQLite databases; back up PostgreSQL with pg_dump "
    "(pg_dump --format=custom --file=FILE DATABASE) and keep the secrets beside the dump "
    "(see 'Backup and restore' in the README)"
)

Progress = Callable[[int, int], None]
"""Called with (pages copied, pages in all) after each step."""


class BackupError(Exception):
    """No backup was written; the message says why."""


def backup(
    url: str, output: Path, *, overwrite: bool = False, progress: Progress | None = None
) -> int:
    """Copy the SQLite database behind ``url`` to ``output``; the number of bytes written."""
    if is_postgres(url):
        raise BackupError(PG_DUMP_HINT)
    source = database_path(url)
    if source is None or not source.is_file():
        raise BackupError(f"no SQLite database at {source or url}")
    if output.is_dir():
        raise BackupError(f"{output} is a directory; give a file name")
    if output.exists() and not overwrite:
        raise BackupError(f"{output} exists; pass --force to replace it")
    if not output.parent.is_dir():
        raise BackupError(f"directory {output.parent} does not exist")
    staging = output.with_name(f".{output.name}.{os.getpid()}.partial")
    os.close(os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        _copy(source, staging, progress or (lambda _done, _total: None))
        _fsync(staging)
        _put_in_place(staging, output, overwrite)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    finally:
        staging.unlink(missing_ok=True)
    _fsync(output.parent)
    return output.stat().st_size


def _copy(source: Path, target: Path, progress: Progress) -> None:
    reader = sqlite3.connect(source, isolation_level=None)
    try:
        reader.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # A read transaction pins the snapshot the copy is taken from (see the module's note).
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        copy = sqlite3.connect(target)
        try:
            reader.backup(
                copy,
                pages=STEP_PAGES,
                progress=lambda _status, remaining, total: progress(total - remaining, total),
            )
            result = copy.execute("PRAGMA quick_check").fetchone()
            if result != ("ok",):
                raise BackupError(f"the copy failed its check: {result}")
            # One self-contained file: opening it elsewhere leaves no -wal/-shm beside it (the
            # server turns WAL back on when it opens its database).
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
        reader.execute("COMMIT")
    finally:
        reader.close()


def _put_in_place(staging: Path, output: Path, overwrite: bool) -> None:
    """Rename the finished copy to its name; without ``overwrite`` a file that appeared there
    meanwhile is kept (a hard link fails where a rename would replace)."""
    if overwrite:
        os.replace(staging, output)
        return
    try:
        os.link(staging, output)
    except FileExistsError as exc:
        raise BackupError(f"{output} exists; pass --force to replace it") from exc


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
