"""SQLite: the ranking indexes carry each row's whole payload, so a ranked query reads no
table rows (at a million units, 2 to 3 times fewer milliseconds per statement).

Building them reads every ranking row once: about a minute at a million units.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TAG_SETS = ["domain_set", "language_set", "framework_set", "pattern_key"]
_PLAIN = {
    "ix_unit_domains_domain_feature_rank_unit_id": ["domain", "feature", "rank", "unit_id"],
    "ix_unit_domains_domain_feature_domain_count_confidence": [
        "domain",
        "feature",
        "domain_count",
        "confidence",
    ],
}
_COVERING = {
    "ix_unit_domains_seeds": [
        *_PLAIN["ix_unit_domains_domain_feature_rank_unit_id"],
        "domain_count",
        "confidence",
        *_TAG_SETS,
    ],
    "ix_unit_domains_ranges": [
        *_PLAIN["ix_unit_domains_domain_feature_domain_count_confidence"],
        "unit_id",
        *_TAG_SETS,
    ],
}


def _swap(drop: dict[str, list[str]], create: dict[str, list[str]]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in drop:
        op.drop_index(name, table_name="unit_domains")
    for name, columns in create.items():
        op.create_index(name, "unit_domains", columns)


def upgrade() -> None:
    _swap(_PLAIN, _COVERING)


def downgrade() -> None:
    _swap(_COVERING, _PLAIN)
