"""PostgreSQL: a unit's ranking rows are found by (unit_id, feature, domain), which covers what
hybrid ranking asks of each candidate (how many query domains it has, whether it has a query
language or framework): those reads become index-only scans instead of a table row each, read
at random from a table of gigabytes at a million units. The index it replaces, on unit_id
alone, is its prefix. SQLite is left alone (its plans were tuned on the old index).

Building it reads every ranking row once: about a minute at a million units.

Revision ID: 0013
Revises: 0011 (the lead chains it after 0012)
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BY_UNIT = {"ix_unit_domains_unit_id": ["unit_id"]}
_COVERING = {"ix_unit_domains_unit_id_feature_domain": ["unit_id", "feature", "domain"]}


def _swap(drop: dict[str, list[str]], create: dict[str, list[str]]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in create.items():
        op.create_index(name, "unit_domains", columns)
    for name in drop:
        op.drop_index(name, table_name="unit_domains")


def upgrade() -> None:
    _swap(_BY_UNIT, _COVERING)


def downgrade() -> None:
    _swap(_COVERING, _BY_UNIT)
