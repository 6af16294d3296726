"""Events: a partial index per review decision kind instead of one on (kind, id), so that the
activity feed's newest decisions are always an index walk that stops at the limit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("approved", "rejected")


def upgrade() -> None:
    op.drop_index("ix_events_kind_id", table_name="events")
    for kind in _KINDS:
        where = sa.text(f"kind = '{kind}'")
        op.create_index(
            f"ix_events_{kind}_id", "events", ["id"], sqlite_where=where, postgresql_where=where
        )


def downgrade() -> None:
    for kind in _KINDS:
        op.drop_index(f"ix_events_{kind}_id", table_name="events")
    op.create_index("ix_events_kind_id", "events", ["kind", "id"])
