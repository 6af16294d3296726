"""Accounts: users, revoked sessions and API keys."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from colloquy.domain.models import (
    Role,
)
from colloquy.store import tables as t
from colloquy.store.protocol import (
    ApiKeyCredential,
    ApiKeyRecord,
    KeyLimitReached,
    NewApiKey,
    Page,
    UserCredential,
    UsernameTaken,
    UserRecord,
)
from colloquy.store.sql.base import SqlBase

# The most keys one listing returns (the active ones are capped far below this).
MAX_KEYS_LISTED = 200

# Every authenticated dashboard request runs this; built once, it skips SQLAlchemy's per-call
# statement construction and cache-key work.
_SESSION_USER = select(t.users).where(
    t.users.c.username == bindparam("username"),
    ~exists().where(t.revoked_sessions.c.token_id == bindparam("token_id")),
)


class AccountStore(SqlBase):
    async def create_user(
        self, username: str, password_hash: str, role: Role | None, at: datetime
    ) -> UserRecord:
        try:
            async with self._writing() as conn:
                if role is None:
                    await self._lock_users(conn)
                    existing = (
                        await conn.execute(select(func.count()).select_from(t.users))
                    ).scalar_one()
                    role = Role.ADMIN if existing == 0 else Role.REVIEWER
                row = (
                    await conn.execute(
                        insert(t.users)
                        .values(
                            username=username,
                            password_hash=password_hash,
                            role=role.value,
                            created_at=at,
                        )
                        .returning(t.users)
                    )
                ).one()
        except IntegrityError as exc:
            raise UsernameTaken(username) from exc
        return self._user(row)

    async def get_user(self, username: str) -> UserRecord | None:
        async with self._reading() as conn:
            row = (
                await conn.execute(select(t.users).where(t.users.c.username == username))
            ).first()
        return self._user(row) if row else None

    async def get_credential(self, username: str) -> UserCredential | None:
        async with self._reading() as conn:
            row = (
                await conn.execute(select(t.users).where(t.users.c.username == username))
            ).first()
        return UserCredential(self._user(row), row.password_hash) if row else None

    async def list_users(self, after: str | None, limit: int) -> Page[UserRecord]:
        stmt = select(t.users).order_by(t.users.c.username).limit(limit + 1)
        if after is not None:
            stmt = stmt.where(t.users.c.username > after)
        async with self._reading() as conn:
            rows = (await conn.execute(stmt)).all()
        users = [self._user(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items=users, next_cursor=users[-1].username if more and users else None)

    async def _update_user(self, username: str, **values: Any) -> bool:
        async with self._writing() as conn:
            result = await conn.execute(
                update(t.users)
                .where(t.users.c.username == username)
                .values(**values)
                .returning(t.users.c.id)
            )
            return result.first() is not None

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        return await self._update_user(username, password_hash=password_hash)

    async def set_role(self, username: str, role: Role) -> bool:
        return await self._update_user(username, role=role.value)

    async def delete_user(self, username: str) -> bool:
        async with self._writing() as conn:
            result = await conn.execute(
                delete(t.users).where(t.users.c.username == username).returning(t.users.c.id)
            )
            return result.first() is not None

    async def revoke_session(self, token_id: str, expires_at: datetime, at: datetime) -> None:
        r = t.revoked_sessions
        async with self._writing() as conn:
            await conn.execute(delete(r).where(r.c.expires_at < at))
            stmt = self._upsert(r).values(token_id=token_id, expires_at=expires_at)
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["token_id"]))

    async def session_user(self, username: str, token_id: str) -> UserRecord | None:
        async with self._reading() as conn:
            params = {"username": username, "token_id": token_id}
            row = (await conn.execute(_SESSION_USER, params)).first()
        return self._user(row) if row else None

    # ------------------------------------------------------------ API keys

    async def create_api_key(self, key: NewApiKey, max_active: int) -> ApiKeyRecord:
        k = t.api_keys.c
        async with self._writing() as conn:
            # Lock the owner's row so that concurrent creations count one after another.
            await conn.execute(
                select(t.users.c.id).where(t.users.c.id == key.user_id).with_for_update()
            )
            active = (
                await conn.execute(
                    select(func.count())
                    .select_from(t.api_keys)
                    .where(
                        k.user_id == key.user_id,
                        k.revoked_at.is_(None),
                        k.expires_at > key.created_at,
                    )
                )
            ).scalar_one()
            if active >= max_active:
                raise KeyLimitReached(max_active)
            row = (
                await conn.execute(
                    insert(t.api_keys)
                    .values(
                        id=key.id,
                        user_id=key.user_id,
                        name=key.name,
                        labels=key.labels,
                        key_prefix=key.prefix,
                        key_hash=key.key_hash,
                        ttl=key.ttl,
                        expires_at=key.expires_at,
                        created_at=key.created_at,
                    )
                    .returning(t.api_keys)
                )
            ).one()
        return self._key(row)

    async def list_api_keys(self, user_id: int) -> list[ApiKeyRecord]:
        k = t.api_keys.c
        async with self._reading() as conn:
            rows = (
                await conn.execute(
                    select(t.api_keys)
                    .where(k.user_id == user_id)
                    .order_by(k.created_at.desc(), k.id)
                    .limit(MAX_KEYS_LISTED)
                )
            ).all()
        return [self._key(r) for r in rows]

    async def revoke_api_key(self, user_id: int, key_id: str, at: datetime) -> bool:
        k = t.api_keys.c
        async with self._writing() as conn:
            result = await conn.execute(
                update(t.api_keys)
                .where(k.id == key_id, k.user_id == user_id)
                .values(revoked_at=func.coalesce(k.revoked_at, at))
                .returning(k.id)
            )
            return result.first() is not None

    async def key_credential(self, key_id: str, at: datetime) -> ApiKeyCredential | None:
        k = t.api_keys.c
        async with self._reading() as conn:
            row = (
                await conn.execute(
                    select(k.id.label("key_id"), k.key_hash, k.last_used_at, t.users)
                    .join(t.users, t.users.c.id == k.user_id)
                    .where(k.id == key_id, k.revoked_at.is_(None), k.expires_at > at)
                )
            ).first()
        if row is None:
            return None
        return ApiKeyCredential(
            key_id=row.key_id,
            key_hash=row.key_hash,
            last_used_at=row.last_used_at,
            user=self._user(row),
        )

    async def touch_api_key(self, key_id: str, at: datetime) -> None:
        k = t.api_keys.c
        async with self._writing() as conn:
            await conn.execute(update(t.api_keys).where(k.id == key_id).values(last_used_at=at))
