"""Export and import: whole units, users and keys, in pages, skipping what exists."""

from collections.abc import Sequence

from sqlalchemy import (
    insert,
    select,
)
from sqlalchemy.engine import Connection

from colloquy.store import tables as t
from colloquy.store.protocol import (
    KeyArchive,
    UnitArchive,
    UnitEvent,
    UserArchive,
)
from colloquy.store.sql.counters import Counters
from colloquy.store.sql.database import Database
from colloquy.store.sql.rows import (
    api_key_values,
    render,
    to_api_key,
    to_event,
    to_user,
    user_values,
)
from colloquy.store.sql.unit_writes import insert_units


class ArchiveRepository:
    """Whole units, users and keys, out in pages and in again (what exists is skipped)."""

    def __init__(self, db: Database, counters: Counters) -> None:
        self._db = db
        self._counters = counters

    async def export_units(self, after: str | None, limit: int) -> list[UnitArchive]:
        stmt = select(t.units).order_by(t.units.c.id).limit(limit)
        if after is not None:
            stmt = stmt.where(t.units.c.id > after)

        def read(conn: Connection) -> list[UnitArchive]:
            items = render(conn, conn.execute(stmt).all())
            ids = [i.unit.id for i in items]
            events: dict[str, list[UnitEvent]] = {}
            if ids:
                e = t.events.c
                result = conn.execute(select(t.events).where(e.unit_id.in_(ids)).order_by(e.id))
                for r in result:
                    events.setdefault(r.unit_id, []).append(to_event(r))
            return [UnitArchive(item=i, events=events.get(i.unit.id, [])) for i in items]

        return await self._db.read(read)

    async def import_units(self, units: Sequence[UnitArchive]) -> int:
        ids = [a.item.unit.id for a in units]

        def job(conn: Connection) -> int:
            present = set(conn.execute(select(t.units.c.id).where(t.units.c.id.in_(ids))).scalars())
            fresh = list(
                {a.item.unit.id: a for a in units if a.item.unit.id not in present}.values()
            )
            insert_units(conn, self._counters, fresh)
            return len(fresh)

        return await self._db.write(job)

    async def export_users(self, after: str | None, limit: int) -> list[UserArchive]:
        stmt = select(t.users).order_by(t.users.c.username).limit(limit)
        if after is not None:
            stmt = stmt.where(t.users.c.username > after)
        rows = await self._db.read(lambda conn: conn.execute(stmt).all())
        return [UserArchive(user=to_user(r), password_hash=r.password_hash) for r in rows]

    async def import_users(self, users: Sequence[UserArchive]) -> int:
        names = [u.user.username for u in users]

        def job(conn: Connection) -> int:
            present = set(
                conn.execute(
                    select(t.users.c.username).where(t.users.c.username.in_(names))
                ).scalars()
            )
            fresh = {u.user.username: u for u in users if u.user.username not in present}
            if fresh:
                conn.execute(
                    insert(t.users),
                    [
                        user_values(
                            u.user.username, u.password_hash, u.user.role, u.user.created_at
                        )
                        for u in fresh.values()
                    ],
                )
            return len(fresh)

        return await self._db.write(job)

    async def export_keys(self, after: str | None, limit: int) -> list[KeyArchive]:
        k = t.api_keys.c
        stmt = (
            select(t.api_keys, t.users.c.username)
            .join(t.users, t.users.c.id == k.user_id)
            .order_by(k.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(k.id > after)
        rows = await self._db.read(lambda conn: conn.execute(stmt).all())
        return [
            KeyArchive(key=to_api_key(r), username=r.username, key_hash=r.key_hash) for r in rows
        ]

    async def import_keys(self, keys: Sequence[KeyArchive]) -> int:
        """Keys whose owner is missing here are skipped (import users first)."""
        k = t.api_keys.c

        def job(conn: Connection) -> int:
            present = set(
                conn.execute(select(k.id).where(k.id.in_([a.key.id for a in keys]))).scalars()
            )
            owner_rows = conn.execute(
                select(t.users.c.username, t.users.c.id).where(
                    t.users.c.username.in_(sorted({a.username for a in keys}))
                )
            )
            owners = {name: user_id for name, user_id in owner_rows}
            fresh = {a.key.id: a for a in keys if a.key.id not in present and a.username in owners}
            if fresh:
                conn.execute(
                    insert(t.api_keys),
                    [api_key_values(a.key, owners[a.username], a.key_hash) for a in fresh.values()],
                )
            return len(fresh)

        return await self._db.write(job)
