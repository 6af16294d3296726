"""Accounts: users, revoked sessions and API keys. Admin actions are audited in their own
transaction (``store.sql.audit``)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from colloquy.domain.models import Role
from colloquy.store import tables as t
from colloquy.store.protocol import (
    ApiKeyCredential,
    ApiKeyRecord,
    AuditEntry,
    KeyLimitReached,
    LastAdmin,
    NewApiKey,
    Page,
    UserChanges,
    UserCredential,
    UsernameTaken,
    UserRecord,
)
from colloquy.store.sql import audit
from colloquy.store.sql.database import Database
from colloquy.store.sql.driver_statements import fetch
from colloquy.store.sql.rows import api_key_values, to_api_key, to_user, user_values

# The most keys one listing returns (the active ones are capped far below this).
MAX_KEYS_LISTED = 200

# Every authenticated dashboard request runs this; built once, it skips SQLAlchemy's per-call
# statement construction and cache-key work. A token from an older session generation (before a
# password reset or role change) finds no user, as does a revoked one.
_SESSION_USER = select(t.users).where(
    t.users.c.username == bindparam("username"),
    t.users.c.session_generation == bindparam("generation"),
    ~exists().where(t.revoked_sessions.c.token_id == bindparam("token_id")),
)
_ADMIN = Role.ADMIN.value
# Every API request with a key runs this: one indexed read, built once (as ``_SESSION_USER``).
# A revoked or expired key finds nothing.
_k = t.api_keys.c
_KEY_CREDENTIAL = (
    select(_k.id.label("key_id"), _k.key_hash, _k.last_used_at, t.users)
    .join(t.users, t.users.c.id == _k.user_id)
    .where(_k.id == bindparam("key_id"), _k.revoked_at.is_(None), _k.expires_at > bindparam("at"))
)
_TOUCH_KEY = (
    update(t.api_keys).where(_k.id == bindparam("key_id")).values(last_used_at=bindparam("at"))
)


def _lock_for_change(conn: Connection, username: str, may_drop_admin: bool) -> Row[Any] | None:
    """Lock ``username``'s row; when the change may take away an admin, every admin's row too,
    and check that one stays.

    All rows are locked by one statement in id order, so two such changes never deadlock, and
    the second waits for the first to commit; PostgreSQL then re-reads the rows the first
    changed (a demoted admin no longer matches), so both cannot each see the other as the admin
    who stays. SQLite runs one write transaction at a time (``BEGIN IMMEDIATE``): no lock needed.
    """
    u = t.users.c
    where = u.username == username
    if may_drop_admin:
        where = or_(where, u.role == _ADMIN)
    rows = conn.execute(
        select(u.id, u.username, u.role, u.created_at).where(where).order_by(u.id).with_for_update()
    ).all()
    target = next((r for r in rows if r.username == username), None)
    admins = sum(r.role == _ADMIN for r in rows)
    if target is not None and may_drop_admin and target.role == _ADMIN and admins <= 1:
        raise LastAdmin(username)
    return target


class AccountRepository:
    """Users, their sessions and their API keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_user(
        self,
        username: str,
        password_hash: str,
        role: Role | None,
        at: datetime,
        actor: str | None = None,
    ) -> UserRecord:
        def job(conn: Connection) -> UserRecord:
            given = role
            if given is None:
                if self._db.dialect.users_lock is not None:
                    conn.execute(self._db.dialect.users_lock)
                existing = conn.execute(select(func.count()).select_from(t.users)).scalar_one()
                given = Role.ADMIN if existing == 0 else Role.REVIEWER
            row = conn.execute(
                insert(t.users)
                .values(user_values(username, password_hash, given, at))
                .returning(t.users)
            ).one()
            if actor is not None:
                entry = AuditEntry("user_created", actor, username, at, {"role": given.value})
                audit.record(conn, entry)
            # The dashboard's one-time setup ends with the first user, however it came.
            conn.execute(delete(t.setup_tokens))
            return to_user(row)

        try:
            return await self._db.write(job)
        except IntegrityError as exc:
            raise UsernameTaken(username) from exc

    async def get_user(self, username: str) -> UserRecord | None:
        row = await self._db.read(
            lambda conn: conn.execute(select(t.users).where(t.users.c.username == username)).first()
        )
        return to_user(row) if row else None

    async def get_credential(self, username: str) -> UserCredential | None:
        row = await self._db.read(
            lambda conn: conn.execute(select(t.users).where(t.users.c.username == username)).first()
        )
        if row is None:
            return None
        return UserCredential(to_user(row), row.password_hash, row.session_generation)

    async def list_users(self, after: str | None, limit: int) -> Page[UserRecord]:
        stmt = select(t.users).order_by(t.users.c.username).limit(limit + 1)
        if after is not None:
            stmt = stmt.where(t.users.c.username > after)
        rows = await self._db.read(lambda conn: conn.execute(stmt).all())
        users = [to_user(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items=users, next_cursor=users[-1].username if more and users else None)

    async def rehash_password(self, username: str, password_hash: str) -> UserRecord | None:
        def job(conn: Connection) -> UserRecord | None:
            row = conn.execute(
                update(t.users)
                .where(t.users.c.username == username)
                .values(password_hash=password_hash)
                .returning(t.users)
            ).first()
            return to_user(row) if row else None

        return await self._db.write(job)

    async def update_user(
        self, username: str, changes: UserChanges, actor: str, at: datetime
    ) -> UserRecord | None:
        demoting = changes.role is not None and changes.role is not Role.ADMIN

        def job(conn: Connection) -> UserRecord | None:
            target = _lock_for_change(conn, username, demoting)
            if target is None:
                return None
            values: dict[str, Any] = {}
            entries = []
            if changes.role is not None and changes.role.value != target.role:
                values["role"] = changes.role.value
                detail = {"from": target.role, "to": changes.role.value}
                entries.append(AuditEntry("role_changed", actor, username, at, detail))
            if changes.password_hash is not None:
                values["password_hash"] = changes.password_hash
                entries.append(AuditEntry("password_reset", actor, username, at, {}))
            stmt: Any = select(t.users).where(t.users.c.id == target.id)
            if values:
                generation = t.users.c.session_generation + 1
                stmt = (
                    update(t.users)
                    .where(t.users.c.id == target.id)
                    .values(**values, session_generation=generation)
                    .returning(t.users)
                )
            row = conn.execute(stmt).one()
            audit.record(conn, *entries)
            return to_user(row)

        return await self._db.write(job)

    async def delete_user(self, username: str, actor: str, at: datetime) -> UserRecord | None:
        def job(conn: Connection) -> UserRecord | None:
            target = _lock_for_change(conn, username, True)
            if target is None:
                return None
            conn.execute(delete(t.users).where(t.users.c.id == target.id))
            entry = AuditEntry("user_deleted", actor, username, at, {"role": target.role})
            audit.record(conn, entry)
            return to_user(target)

        return await self._db.write(job)

    async def revoke_session(self, token_id: str, expires_at: datetime, at: datetime) -> None:
        r = t.revoked_sessions

        def job(conn: Connection) -> None:
            conn.execute(delete(r).where(r.c.expires_at < at))
            stmt = self._db.dialect.upsert(r).values(token_id=token_id, expires_at=expires_at)
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["token_id"]))

        await self._db.write(job)

    async def session_user(
        self, username: str, token_id: str, generation: int = 0
    ) -> UserRecord | None:
        params = {"username": username, "token_id": token_id, "generation": generation}
        row = await self._db.read(lambda conn: conn.execute(_SESSION_USER, params).first())
        return to_user(row) if row else None

    # ------------------------------------------------------------ API keys

    async def create_api_key(self, key: NewApiKey, max_active: int) -> ApiKeyRecord:
        k = t.api_keys.c

        def job(conn: Connection) -> ApiKeyRecord:
            # Lock the owner's row so that concurrent creations count one after another.
            conn.execute(select(t.users.c.id).where(t.users.c.id == key.user_id).with_for_update())
            active = conn.execute(
                select(func.count())
                .select_from(t.api_keys)
                .where(
                    k.user_id == key.user_id,
                    k.revoked_at.is_(None),
                    k.expires_at > key.created_at,
                )
            ).scalar_one()
            if active >= max_active:
                raise KeyLimitReached(max_active)
            row = conn.execute(
                insert(t.api_keys)
                .values(api_key_values(key, key.user_id, key.key_hash))
                .returning(t.api_keys)
            ).one()
            return to_api_key(row)

        return await self._db.write(job)

    async def list_api_keys(self, user_id: int) -> list[ApiKeyRecord]:
        k = t.api_keys.c
        rows = await self._db.read(
            lambda conn: conn.execute(
                select(t.api_keys)
                .where(k.user_id == user_id)
                .order_by(k.created_at.desc(), k.id)
                .limit(MAX_KEYS_LISTED)
            ).all()
        )
        return [to_api_key(r) for r in rows]

    async def revoke_api_key(
        self, user_id: int, key_id: str, at: datetime, actor: str | None = None
    ) -> ApiKeyRecord | None:
        k = t.api_keys.c

        def job(conn: Connection) -> ApiKeyRecord | None:
            row = conn.execute(
                update(t.api_keys)
                .where(k.id == key_id, k.user_id == user_id)
                .values(revoked_at=func.coalesce(k.revoked_at, at))
                .returning(t.api_keys)
            ).first()
            if row is None:
                return None
            if actor is not None and row.revoked_at == at:
                owner = select(t.users.c.username).where(t.users.c.id == user_id)
                detail = {"key_id": key_id, "name": row.name}
                target = conn.execute(owner).scalar_one()
                audit.record(conn, AuditEntry("key_revoked", actor, target, at, detail))
            return to_api_key(row)

        return await self._db.write(job)

    async def key_credential(self, key_id: str, at: datetime) -> ApiKeyCredential | None:
        # On every agent's request: on the driver's cursor (``driver_statements``).
        rows = await self._db.glance(
            lambda conn: fetch(conn, _KEY_CREDENTIAL, {"key_id": key_id, "at": at})
        )
        if not rows:
            return None
        (row,) = rows
        return ApiKeyCredential(
            key_id=row.key_id,
            key_hash=row.key_hash,
            last_used_at=row.last_used_at,
            user=to_user(row),
        )

    async def touch_api_key(self, key_id: str, at: datetime) -> None:
        def job(conn: Connection) -> None:
            conn.execute(_TOUCH_KEY, {"key_id": key_id, "at": at})

        await self._db.write(job)
