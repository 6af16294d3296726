"""Rejections as duplicates: a decision event may name the unit it duplicates.

Nullable, with no default: SQLite adds the column in place and PostgreSQL without rewriting
the table, and every existing event (none of them named an original) is right as it is, so
there is nothing to backfill.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("duplicate_of", sa.String(length=35), nullable=True))


def downgrade() -> None:
    # In place on both (SQLite 3.35+), like 0006: no batch copy of a table others point at.
    op.execute("ALTER TABLE events DROP COLUMN duplicate_of")
