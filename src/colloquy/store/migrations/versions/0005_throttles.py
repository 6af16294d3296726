"""Throttles: failed sign-ins per username and per client address, and per-key write
allowances, kept in the database so that every worker and replica shares them.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttles",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("until_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject", name="pk_throttles"),
    )
    op.create_index("ix_throttles_expires_us", "throttles", ["expires_us"])


def downgrade() -> None:
    op.drop_index("ix_throttles_expires_us", table_name="throttles")
    op.drop_table("throttles")
