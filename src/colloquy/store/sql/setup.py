"""First-start setup: the setup tokens' hashes, and the first admin, created atomically."""

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from colloquy.domain.models import Role
from colloquy.store import tables as t
from colloquy.store.protocol import AuditEntry, UserRecord
from colloquy.store.sql import audit
from colloquy.store.sql.database import Database
from colloquy.store.sql.rows import to_user, user_values

SETUP_ACTOR = "setup"

_ANY_USER = select(t.users.c.id).limit(1)
_tokens = t.setup_tokens.c


def _any_user(conn: Connection) -> bool:
    return conn.execute(_ANY_USER).first() is not None


class SetupRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def has_users(self) -> bool:
        return await self._db.read(_any_user)

    async def open_setup(self, token_hash: str, at: datetime, keep: int) -> bool:
        def job(conn: Connection) -> bool:
            if _any_user(conn):
                return False
            conn.execute(insert(t.setup_tokens).values(token_hash=token_hash, created_at=at))
            newest = (
                select(_tokens.token_hash)
                .order_by(_tokens.created_at.desc(), _tokens.token_hash.desc())
                .limit(keep)
            )
            conn.execute(delete(t.setup_tokens).where(_tokens.token_hash.not_in(newest)))
            return True

        return await self._db.write(job)

    async def setup_token_hashes(self, limit: int) -> list[str]:
        stmt = (
            select(_tokens.token_hash)
            .order_by(_tokens.created_at.desc(), _tokens.token_hash.desc())
            .limit(limit)
        )
        return await self._db.read(lambda conn: list(conn.execute(stmt).scalars()))

    async def create_first_admin(
        self, username: str, password_hash: str, token_hash: str, at: datetime
    ) -> UserRecord | None:
        def job(conn: Connection) -> UserRecord | None:
            # The same turn-taking as a first user without a role (``dialects.users_lock``):
            # a second caller waits here, then finds the first one's admin.
            if self._db.dialect.users_lock is not None:
                conn.execute(self._db.dialect.users_lock)
            if _any_user(conn):
                return None
            stored = select(_tokens.token_hash).where(_tokens.token_hash == token_hash)
            if conn.execute(stored).first() is None:
                return None
            conn.execute(delete(t.setup_tokens))
            row = conn.execute(
                insert(t.users)
                .values(user_values(username, password_hash, Role.ADMIN, at))
                .returning(t.users)
            ).one()
            role = {"role": Role.ADMIN.value}
            entry = AuditEntry("user_created", SETUP_ACTOR, username, at, role)
            audit.record(conn, entry)
            return to_user(row)

        return await self._db.write(job)
