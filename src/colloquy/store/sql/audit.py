"""The audit trail of admin actions on accounts: written by the action's own transaction, read
newest first in keyset pages."""

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from colloquy.store import tables as t
from colloquy.store.protocol import AuditEntry, InvalidCursor, Page
from colloquy.store.sql.cursors import decode_cursor, encode_cursor
from colloquy.store.sql.database import Database
from colloquy.store.sql.rows import audit_values, to_audit_entry

_INSERT = insert(t.audit_log)
_NEWEST = select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(bindparam("size"))


def record(conn: Connection, *entries: AuditEntry) -> None:
    """Add ``entries`` inside the caller's transaction: actions and records commit together."""
    if not entries:
        return
    conn.execute(_INSERT, [audit_values(e) for e in entries])


class AuditRepository:
    """Reads the audit trail; the actions audited write it (``record``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def audit_page(self, cursor: str | None, limit: int) -> Page[AuditEntry]:
        stmt = _NEWEST
        if cursor is not None:
            parts = decode_cursor(cursor, 1)
            # Ids fit 18 digits; anything else was not issued here (and must not reach BIGINT).
            if parts is None or not (parts[0].isascii() and parts[0].isdigit()):
                raise InvalidCursor(cursor)
            if len(parts[0]) > 18:
                raise InvalidCursor(cursor)
            stmt = stmt.where(t.audit_log.c.id < int(parts[0]))
        rows = await self._db.read(lambda conn: conn.execute(stmt, {"size": limit + 1}).all())
        entries = [to_audit_entry(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(
            items=entries, next_cursor=encode_cursor(str(rows[limit - 1].id)) if more else None
        )
