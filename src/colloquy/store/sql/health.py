"""Whether the database answers at all: the readiness check."""

from sqlalchemy import literal, select

from colloquy.store.sql.base import SqlBase


class HealthStore(SqlBase):
    async def ping(self) -> None:
        async with self._reading() as conn:
            await conn.execute(select(literal(1)))
