"""Tag aliases: the table admins edit, and the copy of it that ranked queries read.

An edit is checked against the stored table inside its own write transaction (under
``Dialect.aliases_lock`` where writers run side by side), so two concurrent edits cannot make a
chain between them, and it is audited in that transaction.

Ranked queries must not pay a table read each: they take the table through ``current(conn)``,
a copy kept in this process for ``ALIASES_TTL`` seconds. An edit made through this store drops
the copy, so this process's next query sees it; an edit made by another process (another
worker, the command line) is seen here within ``ALIASES_TTL``. Stored units keep their tag words
without aliases, so no edit needs a re-index.
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Connection

from colloquy.domain.tags import MAX_ALIASES, Aliases, alias_word, check_alias
from colloquy.store import tables as t
from colloquy.store.protocol import (
    AliasChain,
    AliasExists,
    AliasLimitReached,
    AliasRecord,
    AuditEntry,
    Conflict,
)
from colloquy.store.sql import audit
from colloquy.store.sql.database import Database
from colloquy.store.sql.rows import alias_values, to_alias

# How long a process may rank with an alias table another process has since edited.
ALIASES_TTL = 5.0

_a = t.tag_aliases.c
# Bounded even if rows were added behind the store's back: one more than the cap tells "full".
_WORDS = select(_a.alias, _a.canonical).limit(MAX_ALIASES + 1)
_LIST = select(t.tag_aliases).order_by(_a.alias).limit(MAX_ALIASES)
_INSERT = insert(t.tag_aliases)
_DELETE = delete(t.tag_aliases).where(_a.alias == bindparam("alias")).returning(t.tag_aliases)


def _list(conn: Connection) -> list[AliasRecord]:
    return [to_alias(r) for r in conn.execute(_LIST)]


class AliasRepository:
    """The alias table, and this process's short-lived copy of it (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        ttl: float = ALIASES_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._clock = clock
        self._copy: tuple[float, Aliases] | None = None
        # Bumped by every edit, so that a read begun before it does not keep an older copy.
        self._edits = 0
        # Reads run on several threads, edits on the event loop: the check of ``_edits`` and
        # the keeping of a copy are one step (the table's read is not under it).
        self._lock = threading.Lock()

    def current(self, conn: Connection) -> Aliases:
        """The alias table as ranking uses it, read through ``conn`` at most every ``ttl``."""
        copy, started = self._copy, self._clock()
        if copy is not None and started - copy[0] < self._ttl:
            return copy[1]
        edits = self._edits
        rows = conn.execute(_WORDS).all()
        aliases = Aliases({r.alias: r.canonical for r in rows[:MAX_ALIASES]})
        with self._lock:
            if edits == self._edits:
                self._copy = (started, aliases)
        return aliases

    async def list_aliases(self) -> list[AliasRecord]:
        return await self._db.read(_list)

    async def add_alias(self, alias: str, canonical: str, actor: str, at: datetime) -> AliasRecord:
        lock = self._db.dialect.aliases_lock
        alias, canonical = alias_word(alias), alias_word(canonical)

        def job(conn: Connection) -> AliasRecord | Conflict:
            if lock is not None:
                conn.execute(lock)
            table = {r.alias: r.canonical for r in conn.execute(_WORDS)}
            if alias in table:
                return AliasExists(alias, table[alias])
            if len(table) >= MAX_ALIASES:
                return AliasLimitReached(f"the table holds {MAX_ALIASES} aliases already")
            try:
                check_alias(alias, canonical, table)
            except ValueError as exc:
                return AliasChain(str(exc))
            record = AliasRecord(alias, canonical, actor, at)
            conn.execute(_INSERT, [alias_values(record)])
            detail = {"canonical": record.canonical}
            entry = AuditEntry("alias_added", actor, record.alias, at, detail)
            audit.record(conn, entry)
            return record

        # A refusal is returned by the job (it wrote nothing) and raised here.
        result = await self._db.write(job)
        if isinstance(result, Conflict):
            raise result
        self._edited()
        return result

    async def remove_alias(self, alias: str, actor: str, at: datetime) -> AliasRecord | None:
        def job(conn: Connection) -> AliasRecord | None:
            row = conn.execute(_DELETE, {"alias": alias}).first()
            if row is None:
                return None
            entry = AuditEntry("alias_removed", actor, alias, at, {"canonical": row.canonical})
            audit.record(conn, entry)
            return to_alias(row)

        removed = await self._db.write(job)
        if removed is not None:
            self._edited()
        return removed

    def _edited(self) -> None:
        with self._lock:
            self._copy = None
            self._edits += 1
