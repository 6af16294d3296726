"""Units' vectors (``unit_embeddings``): which units still need one, storing them, and reading
those of a bounded set of candidates. Vectors are opaque bytes here; ``colloquy.semantic``
makes and reads them.

Every statement reads a bounded number of rows but ``embedding_backlog``, a count for the
command line: a scan is a window of units by primary key (its end found on the key alone),
anti-joined with their vectors.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    LargeBinary,
    String,
    and_,
    bindparam,
    exists,
    func,
    select,
)
from sqlalchemy.engine import Connection

from colloquy.store import tables as t
from colloquy.store.protocol import (
    MAX_EMBED_WINDOW,
    MAX_VECTOR_READ,
    EmbeddingScan,
    EmbeddingSource,
)
from colloquy.store.sql.database import Database

_u, _e = t.units.c, t.unit_embeddings.c
_WITHOUT_VECTOR = t.units.outerjoin(
    t.unit_embeddings, and_(_e.unit_id == _u.id, _e.model_id == bindparam("model_id"))
)
_WINDOW = (
    select(_u.id).where(_u.id > bindparam("after")).order_by(_u.id).limit(bindparam("window"))
).subquery()
_WINDOW_END = select(func.max(_WINDOW.c.id), func.count()).select_from(_WINDOW)
_MISSING = (
    select(_u.id, _u.summary, _u.detail, _u.action, _u.domains, _u.languages, _u.frameworks)
    .select_from(_WITHOUT_VECTOR)
    .where(_u.id > bindparam("after"), _u.id <= bindparam("last"), _e.unit_id.is_(None))
    .order_by(_u.id)
)
_BACKLOG = select(func.count()).select_from(_WITHOUT_VECTOR).where(_e.unit_id.is_(None))
_VECTORS = select(_e.unit_id, _e.vector).where(
    _e.model_id == bindparam("model_id"), _e.unit_id.in_(bindparam("ids", expanding=True))
)
_ID = bindparam("unit_id", type_=String)
_ROW = select(_ID, bindparam("model_id", type_=String), bindparam("vector", type_=LargeBinary))
_STORED_ROW = _ROW.where(exists().where(_u.id == _ID))


def _source(row: Any) -> EmbeddingSource:
    tags = (*row.domains, *row.languages, *row.frameworks)
    return EmbeddingSource(row.id, row.summary, row.detail, row.action, tags)


class EmbeddingRepository:
    def __init__(self, database: Database) -> None:
        self._db = database
        insert = database.dialect.upsert(t.unit_embeddings).from_select(
            ["unit_id", "model_id", "vector"], _STORED_ROW
        )
        self._store = insert.on_conflict_do_update(
            index_elements=["unit_id"],
            set_={"model_id": insert.excluded.model_id, "vector": insert.excluded.vector},
        )

    async def units_to_embed(self, model_id: str, after: str | None, window: int) -> EmbeddingScan:
        window = max(1, min(window, MAX_EMBED_WINDOW))
        start = after or ""

        def read(conn: Connection) -> EmbeddingScan:
            last, seen = conn.execute(_WINDOW_END, {"after": start, "window": window}).one()
            if last is None:
                return EmbeddingScan([], None)
            rows = conn.execute(_MISSING, {"model_id": model_id, "after": start, "last": last})
            units = [_source(row) for row in rows]
            return EmbeddingScan(units, last if seen == window else None)

        return await self._db.read(read)

    async def embedding_backlog(self, model_id: str) -> int:
        return await self._db.read(
            lambda conn: conn.execute(_BACKLOG, {"model_id": model_id}).scalar_one()
        )

    async def store_vectors(self, model_id: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        if not vectors:
            return
        # In id order, so that two writers of overlapping batches lock rows in one order.
        rows = [
            {"unit_id": unit_id, "model_id": model_id, "vector": vector}
            for unit_id, vector in sorted(vectors)
        ]

        def job(conn: Connection) -> None:
            conn.execute(self._store, rows)

        await self._db.write(job)

    async def unit_vectors(self, model_id: str, unit_ids: Sequence[str]) -> dict[str, bytes]:
        if len(unit_ids) > MAX_VECTOR_READ:
            raise ValueError(f"at most {MAX_VECTOR_READ} vectors are read at once")
        if not unit_ids:
            return {}

        def read(conn: Connection) -> dict[str, bytes]:
            rows = conn.execute(_VECTORS, {"model_id": model_id, "ids": list(unit_ids)})
            return {row.unit_id: bytes(row.vector) for row in rows}

        return await self._db.read(read)
