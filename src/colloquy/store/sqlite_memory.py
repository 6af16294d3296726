"""SQLite's memory statistics, switched off for the process before its first connection.

With the statistics on (SQLite's default, and Debian's build), every allocation SQLite makes
takes one mutex shared by every connection of the process, to keep the count that
``sqlite3_memory_used()`` reports. Nothing in colloquy reads that count, but two reader threads
running queries at once fought over that mutex: full-text queries replayed on 2 threads of one
process cost 3.5 ms of CPU each against 2.4 ms on one thread, or in two processes. With the
statistics off they cost 2.3 ms on 2 threads (``benchmarks/PROFILE.md``). SQLite's own advice
for speed is to build it without them (``SQLITE_DEFAULT_MEMSTATUS=0``); Python's ``sqlite3``
offers no way to set it, so it is set through the library's C interface.

That setting can only change while SQLite is not initialised, and Python's ``sqlite3``
initialises it on import. So the library is shut down and started again, which is safe only
with no connection open anywhere in the process: that is checked first, and where a connection
is open (or the library cannot be reached) nothing changes. It is tried once per process.
"""

import ctypes
import sqlite3
import threading

_SQLITE_CONFIG_MEMSTATUS = 9  # sqlite3.h
_SQLITE_OK = 0

_lock = threading.Lock()
_tried = False


def switch_off_statistics() -> bool:
    """Switch SQLite's memory statistics off if no connection of the process is open yet;
    whether they are off now. Only the first call of a process tries."""
    global _tried
    with _lock:
        if _tried:
            return statistics_off()
        _tried = True
        library = _library()
        if library is None or library.sqlite3_memory_used() != 0 or statistics_off():
            # Memory in use means a connection is open somewhere; shutting down would break it.
            return statistics_off()
        if library.sqlite3_shutdown() != _SQLITE_OK:
            return False
        library.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0))
        return library.sqlite3_initialize() == _SQLITE_OK and statistics_off()


def statistics_off() -> bool:
    """Whether SQLite keeps no memory statistics in this process: opening a connection takes
    memory, yet the count does not move."""
    library = _library()
    if library is None:
        return False
    before = library.sqlite3_memory_used()
    probe = sqlite3.connect(":memory:")
    try:
        return library.sqlite3_memory_used() == before
    finally:
        probe.close()


def _library() -> ctypes.CDLL | None:
    """The SQLite that Python's ``sqlite3`` runs on: the one its extension module links to, so
    that a second copy of SQLite is never the one configured. None where it does not export the
    C interface (a build with SQLite compiled in privately)."""
    try:
        import _sqlite3

        library = ctypes.CDLL(_sqlite3.__file__)
        library.sqlite3_memory_used.restype = ctypes.c_int64
        library.sqlite3_memory_used.argtypes = []
    except (ImportError, OSError, AttributeError):
        return None
    return library
