"""Tag aliases: the admin-editable table of tag wording (``k8s`` -> ``kubernetes``), seeded
with the shipped defaults (``domain.tags.DEFAULT_ALIASES``) as they are when this runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from colloquy.domain.tags import DEFAULT_ALIASES

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Who the audit trail and the alias list name for the shipped defaults.
SEEDED_BY = "colloquy"


def upgrade() -> None:
    table = op.create_table(
        "tag_aliases",
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("canonical", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=256), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_tag_aliases")),
    )
    # Naive UTC on SQLite, as the store writes its timestamps there (``tables.UtcDateTime``).
    at = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        at = at.replace(tzinfo=None)
    op.bulk_insert(
        table,
        [
            {"alias": a, "canonical": c, "added_by": SEEDED_BY, "added_at": at}
            for a, c in sorted(DEFAULT_ALIASES.items())
        ],
    )


def downgrade() -> None:
    op.drop_table("tag_aliases")
