"""SQLite's WAL checkpoints, on a thread of their own instead of inside the writer's commits.

A checkpoint copies the pages the WAL holds back into the database file (and syncs both). By
default SQLite runs one after any commit that leaves 1,000 pages in the WAL, on the committing
connection: here the one writer's thread, so every write queued behind it waits. A page
written many times between two checkpoints is copied once per checkpoint, so rarer checkpoints
cost less CPU per write (a confirm's write floor: 0.88 ms at 1,000 pages, 0.63 at 16,000;
benchmarks/PROFILE.md, items 11 and 12); but made rarer on the writer's thread, each one held the
writes queued behind it for its whole length (write p99 2-4×).

So the ``Checkpointer`` runs them on its own connection and thread: the writer tells it after
each commit (it sets an ``Event``), and it checkpoints ``PASSIVE`` at most every
``INTERVAL`` seconds while writes go on: a page rewritten within that window is copied once.
``PASSIVE`` takes no lock the writer or a reader waits for; it copies what no open read
snapshot still needs, and leaves the rest for the next pass.

The WAL is reused from its start only when a checkpoint has copied all of it and the writer
then begins a transaction. Under sustained writes the writer adds frames while a pass runs, so
a pass seldom catches up; the writer's own automatic checkpoint, raised to ``BACKSTOP_PAGES``,
is what then restarts the log, and bounds the WAL file if the checkpointer falls behind. It
copies only what came since the last pass: past ``CATCH_UP_PAGES`` the checkpointer runs its
passes one after another, a few milliseconds apart, so that this is a few groups' pages.

What it cannot keep short is the sync. SQLite syncs the database file only after a pass that
reached the live end of the log, so under sustained writes no pass does (each reports having
copied all it saw, but the writer appended meanwhile), and the backstop's checkpoint syncs
every page the passes copied since the log last restarted, with the writes queued behind it:
150-270 ms on our host, whatever the catch-up passes left. So the backstop is large: the hold
comes a quarter as often as at 16,000 pages, and a page rewritten within a cycle is copied
once (write p99 at c=8 fell from 100-220 ms to 21-63 ms; ``benchmarks/PROFILE.md``, item 18).
Syncing the database file after each pass, on this thread, did not keep up with the writes
there; fewer pages per write would.

Durability is unchanged: ``synchronous=NORMAL`` in WAL mode (a commit survives the process being
killed; a power loss may lose the commits since the last checkpoint, which now comes within
``INTERVAL`` of a write instead of after 1,000 pages, however long that takes). Checkpoints of
several processes on one file are serialised by SQLite (a pass that finds another running
returns at once). A long read (``colloquy backup``'s pinned snapshot) keeps the WAL from
restarting while it lasts, as before. On close, a last pass runs after the writer has closed.
"""

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Seconds between passes while writes go on (confirms add 10-30k WAL frames a second at c=8
# on our 2-core host): 0.25 s cut more CPU per write but doubled write p99 under load, each
# larger pass taking a core from the writer (benchmarks/PROFILE.md, item 12).
INTERVAL = 0.1
# The writer's own ``wal_autocheckpoint``: a bound on the WAL (about 250 MiB with 4 KiB pages;
# the file keeps its largest size until the last connection closes, as SQLite leaves it).
BACKSTOP_PAGES = 64_000
# WAL frames past which passes follow one another until the log restarts, and the pause
# between them (seconds).
CATCH_UP_PAGES = BACKSTOP_PAGES * 3 // 4
CATCH_UP_PAUSE = 0.005


class Checkpointer:
    """Passive checkpoints of the database at ``path``, on a thread of its own (see the module
    docstring); ``committed()`` after each write transaction, ``close()`` once."""

    def __init__(self, path: Path, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.passes = 0
        """Checkpoint passes run so far."""
        self.last: tuple[int, int, int] | None = None
        """The last pass's ``PRAGMA wal_checkpoint`` row: (busy, frames in the WAL, copied)."""
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._written = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="colloquy-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A write transaction committed: a pass is due within ``interval``."""
        self._written.set()

    def close(self) -> None:
        """Stop the thread, run a last pass and close the connection."""
        self._closing.set()
        self._written.set()
        self._thread.join()
        self._pass()
        self._conn.close()

    def _run(self) -> None:
        # Checked before each wait: ``close`` sets ``_closing`` before ``_written``, so a
        # ``clear`` below that undid its ``_written`` leaves ``_closing`` set here.
        while not self._closing.is_set():
            self._written.wait()
            # The window in which rewritten pages are copied once; cut short by close().
            if self._closing.wait(self.interval):
                return
            self._written.clear()
            _busy, frames, _copied = self._pass()
            # Near the backstop, passes follow one another a few milliseconds apart (each
            # copies what came since the last), so that what the writer's own checkpoint has
            # left to copy when it fires and restarts the log is a few groups' pages: a short
            # hold for the writes queued behind it. They end once the log has restarted, or
            # stops growing (it restarts at the next write), or when another checkpoint runs.
            while frames >= CATCH_UP_PAGES:
                if self._closing.wait(CATCH_UP_PAUSE):
                    return
                before = frames
                busy, frames, _copied = self._pass()
                if busy or frames <= before:
                    break

    def _pass(self) -> tuple[int, int, int]:
        try:
            row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            # Another process's exclusive lock, say: the next pass (or the backstop) copies it.
            log.warning("WAL checkpoint failed: %s", exc)
            return (1, 0, 0)
        self.passes += 1
        self.last = (row[0], row[1], row[2])
        return self.last
