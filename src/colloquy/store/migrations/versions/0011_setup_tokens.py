"""Setup tokens: hashes of the one-time tokens that create the first admin from the dashboard.

The table starts empty on a database with data; a server with users never adds to it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "setup_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_setup_tokens")),
    )


def downgrade() -> None:
    op.drop_table("setup_tokens")
