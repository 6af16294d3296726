"""What the shared SQL store does differently per backend, as one value per backend.

A difference that is one SQL function spelled two ways is a construct in ``store/dialect.py``
(compiled per dialect). A difference in what the store does (an ``INSERT ... ON CONFLICT`` of
the backend's own, a search over its own full-text index, a lock it must take, how many writers
it runs, which errors are lost lock races) is a field of ``Dialect``, and each backend's value is
below: the repositories read the field and never ask which backend they run on.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Executable, Table, text
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from colloquy.store.sql.retry import driver_error
from colloquy.store.sql.text_search import FTS5, TSVECTOR, TextSearch

# ``insert(table)`` of the backend's dialect, which has ``on_conflict_do_update`` (the two
# backends' Insert classes share no base that declares it).
InsertFactory = Callable[[Table], Any]

# SQLITE_BUSY and SQLITE_LOCKED, the primary result codes of "another connection holds a lock".
SQLITE_LOCK_CODES = frozenset({5, 6})
# A transaction chosen as a deadlock's victim, or one that could not be serialised.
POSTGRES_LOST_RACE_STATES = frozenset({"40P01", "40001"})
# Rows per hot counter on PostgreSQL: enough that a few dozen concurrent writers rarely pick
# the same one, few enough that summing them stays a handful of rows per counter.
POSTGRES_COUNTER_SHARDS = 16


@dataclass(frozen=True, slots=True)
class Dialect:
    """One backend's side of every difference the shared SQL store has to know about."""

    upsert: InsertFactory
    text_match: Callable[[str], ColumnElement[bool]]
    """Units whose summary, detail or action contain every word of the query (browse search)."""
    text_search: TextSearch
    """Ranked full-text search over the units' text and tag words (hybrid ranking)."""
    users_lock: Executable | None
    """Run before "is this the first user?" so that concurrent first sign-ups take turns; None
    where write transactions already run one at a time."""
    aliases_lock: Executable | None
    """Run before an alias is checked against the stored ones and added, so that two
    concurrent additions cannot make a chain between them; None where write transactions
    already run one at a time."""
    counter_shards: int
    """The rows each hot counter is spread over (``counters``)."""
    one_statement_writes: bool
    """Whether a write whose steps feed each other runs them as one statement (data-modifying
    CTEs, ``evidence`` and ``proposals``): where each statement is a round trip to a server.
    SQLite has no such CTEs, and a statement there is a call into the library."""
    lost_lock_race: Callable[[BaseException], bool]
    """Whether an error is a lost lock race (a deadlock, a serialisation failure, a busy
    database) that the same transaction, run again, is expected to get past (``retry``)."""


def sqlite_lost_lock_race(error: BaseException) -> bool:
    """SQLite giving up on a lock that another connection holds."""
    code = getattr(driver_error(error), "sqlite_errorcode", 0)
    # Extended result codes (SQLITE_BUSY_SNAPSHOT ...) carry the primary one in the low byte.
    return code & 0xFF in SQLITE_LOCK_CODES


def postgres_lost_lock_race(error: BaseException) -> bool:
    """PostgreSQL aborting a deadlock's victim or an unserialisable transaction."""
    return getattr(driver_error(error), "sqlstate", None) in POSTGRES_LOST_RACE_STATES


def _fts5_match(query: str) -> ColumnElement[bool]:
    # Each word quoted: user input is never FTS5 syntax; quoted words are ANDed, in the text
    # columns only (not the tag words that hybrid ranking also searches).
    quoted = " ".join('"' + word.replace('"', '""') + '"' for word in query.split())
    words = "{summary detail action} : (" + quoted + ")"
    return text(
        "units.rowid IN (SELECT rowid FROM units_fts WHERE units_fts MATCH :words)"
    ).bindparams(words=words)


def _tsvector_match(query: str) -> ColumnElement[bool]:
    return text("units.search @@ plainto_tsquery('english', :words)").bindparams(words=query)


SQLITE = Dialect(
    upsert=sqlite_insert,
    text_match=_fts5_match,
    text_search=FTS5,
    users_lock=None,
    aliases_lock=None,
    counter_shards=1,
    one_statement_writes=False,
    lost_lock_race=sqlite_lost_lock_race,
)

POSTGRESQL = Dialect(
    upsert=postgres_insert,
    text_match=_tsvector_match,
    text_search=TSVECTOR,
    # Concurrent inserts would each see an empty table; this lock admits one at a time.
    users_lock=text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"),
    # Admits one alias writer at a time; readers of the table never wait for it.
    aliases_lock=text("LOCK TABLE tag_aliases IN SHARE ROW EXCLUSIVE MODE"),
    counter_shards=POSTGRES_COUNTER_SHARDS,
    one_statement_writes=True,
    lost_lock_race=postgres_lost_lock_race,
)
