"""Unit embeddings: each unit's vector by the named model, for semantic re-ranking.

Nothing is backfilled here: a vector takes a model run (about 40 ms of CPU a unit), so the
server computes missing ones in the background and ``colloquy embed`` computes them in bulk.
The table starts empty on a database with data, which every reader takes as "no vector yet".

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_embeddings",
        sa.Column("unit_id", sa.String(35), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_unit_embeddings_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_unit_embeddings")),
    )


def downgrade() -> None:
    op.drop_table("unit_embeddings")
