"""Counters: ``unit_counts`` and ``daily_counts`` are kept in shards (a ``shard`` column in the
primary key), so that concurrent writers on PostgreSQL add to different rows instead of queueing
on one. The counts kept so far become shard 0; going down, each counter's shards are summed into
one row again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each sharded table: its key column and the columns that its shards add up.
_SHARDED = {
    "unit_counts": ("key", ("n",)),
    "daily_counts": ("day", ("proposed", "approved", "rejected")),
}


def upgrade() -> None:
    for table, (key, _) in _SHARDED.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("shard", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
            )
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", [key, "shard"])


def downgrade() -> None:
    for table, (key, columns) in _SHARDED.items():
        _sum_into_shard_zero(table, key, columns)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.drop_column("shard")
            batch.create_primary_key(f"pk_{table}", [key])


def _sum_into_shard_zero(name: str, key: str, columns: Sequence[str]) -> None:
    """Every counter's total in its shard 0 row, and no other shard left."""
    table = sa.table(name, sa.column(key), sa.column("shard"), *map(sa.column, columns))
    shards = table.alias("s")
    with_zero = sa.select(shards.c[key]).where(shards.c.shard == 0)
    missing = (
        sa.select(table.c[key], sa.literal(0), *(sa.literal(0) for _ in columns))
        .where(table.c[key].not_in(with_zero))
        .distinct()
    )
    op.execute(sa.insert(table).from_select([key, "shard", *columns], missing))
    totals = {
        column: sa.select(sa.func.sum(shards.c[column]))
        .where(shards.c[key] == table.c[key])
        .scalar_subquery()
        for column in columns
    }
    op.execute(sa.update(table).where(table.c.shard == 0).values(totals))
    op.execute(sa.delete(table).where(table.c.shard != 0))
