"""Hybrid ranking: each unit's tag words (``units.tag_text``, domain/tag_text.py), backfilled,
and the full-text index extended to them.

SQLite: ``units_fts`` is rebuilt with a ``tag_text`` column (and an update trigger, so that a
quarantine's repaired text is re-indexed). PostgreSQL: ``units.search`` is redefined with
weights (summary A, action B, detail C; matching is unchanged, so browse search is too) and a
second generated vector ``units.tag_search`` holds the tag words, each with a GIN index. Both
generated columns are added in one statement, so the table is rewritten once (minutes at a
million units).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01 18:40:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from colloquy.domain.tag_text import unit_tag_text

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Units read and updated per statement of the backfill: memory stays bounded at any size.
BATCH = 2_000

_units = sa.table(
    "units",
    sa.column("id", sa.String),
    sa.column("domains", sa.JSON),
    sa.column("languages", sa.JSON),
    sa.column("frameworks", sa.JSON),
    sa.column("tag_text", sa.Text),
)
_SET_TAG_TEXT = (
    sa.update(_units)
    .where(_units.c.id == sa.bindparam("unit_id"))
    .values(tag_text=sa.bindparam("words"))
)

_OLD_FTS = ("summary", "detail", "action")
_NEW_FTS = ("summary", "detail", "action", "tag_text")
_OLD_SEARCH = "to_tsvector('english', summary || ' ' || detail || ' ' || action)"
_WEIGHTED_SEARCH = (
    "setweight(to_tsvector('english', summary), 'A') || "
    "setweight(to_tsvector('english', action), 'B') || "
    "setweight(to_tsvector('english', detail), 'C')"
)


def _list(value: Any) -> list[str]:
    value = json.loads(value) if isinstance(value, str) else value
    return [str(v) for v in value] if isinstance(value, list) else []


def _backfill() -> None:
    bind = op.get_bind()
    u = _units.c
    last = ""
    while True:
        rows = bind.execute(
            sa.select(u.id, u.domains, u.languages, u.frameworks)
            .where(u.id > last)
            .order_by(u.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            _SET_TAG_TEXT,
            [
                {
                    "unit_id": row.id,
                    "words": unit_tag_text(
                        _list(row.domains), _list(row.languages), _list(row.frameworks)
                    ),
                }
                for row in rows
            ],
        )
        last = rows[-1].id


def _sqlite_fts(columns: tuple[str, ...]) -> None:
    """``units_fts`` over ``columns`` of ``units``, its triggers, and its index built."""
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS units_fts_{name}")
    op.execute("DROP TABLE IF EXISTS units_fts")
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE units_fts USING fts5({listed}, "
        "content='units', content_rowid='rowid', tokenize='porter unicode61')"
    )
    # Column names only, from the constants above.
    insert = f"INSERT INTO units_fts(rowid, {listed}) VALUES (new.rowid, {new});"  # noqa: S608
    delete = (
        f"INSERT INTO units_fts(units_fts, rowid, {listed}) "  # noqa: S608
        f"VALUES ('delete', old.rowid, {old});"
    )
    op.execute(f"CREATE TRIGGER units_fts_insert AFTER INSERT ON units BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER units_fts_delete AFTER DELETE ON units BEGIN {delete} END")
    op.execute(
        f"CREATE TRIGGER units_fts_update AFTER UPDATE OF {listed} ON units "
        f"BEGIN {delete} {insert} END"
    )
    op.execute("INSERT INTO units_fts(units_fts) VALUES ('rebuild')")


def upgrade() -> None:
    # A constant default: SQLite adds the column in place, PostgreSQL without a rewrite.
    op.add_column("units", sa.Column("tag_text", sa.Text(), nullable=False, server_default=""))
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        # Dropped first, so that the backfill's updates index nothing twice.
        op.execute("DROP TRIGGER IF EXISTS units_fts_insert")
        op.execute("DROP TRIGGER IF EXISTS units_fts_delete")
        op.execute("DROP TABLE IF EXISTS units_fts")
    _backfill()
    if not postgres:
        _sqlite_fts(_NEW_FTS)
        return
    op.execute(
        "ALTER TABLE units DROP COLUMN search, "
        f"ADD COLUMN search tsvector GENERATED ALWAYS AS ({_WEIGHTED_SEARCH}) STORED, "
        "ADD COLUMN tag_search tsvector GENERATED ALWAYS AS "
        "(to_tsvector('english', tag_text)) STORED"
    )
    op.execute("CREATE INDEX ix_units_search ON units USING gin (search)")
    op.execute("CREATE INDEX ix_units_tag_search ON units USING gin (tag_search)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE units DROP COLUMN tag_search, DROP COLUMN search, "
            f"ADD COLUMN search tsvector GENERATED ALWAYS AS ({_OLD_SEARCH}) STORED"
        )
        op.execute("CREATE INDEX ix_units_search ON units USING gin (search)")
    else:
        _sqlite_fts(_OLD_FTS)
    # In place on both (SQLite 3.35+), as 0006 does.
    op.execute("ALTER TABLE units DROP COLUMN tag_text")
