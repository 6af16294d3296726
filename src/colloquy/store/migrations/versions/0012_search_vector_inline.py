"""PostgreSQL: each unit's text vector ``units.search`` is kept in its row, not out of line.

A row with its text and its vector is over the 2 kB at which PostgreSQL moves its largest
values out of the row, and the vector (about 1.2 kB, which barely compresses) went to the TOAST
table first: every text match of hybrid ranking then fetched it there (a TOAST index probe and a
second page), about two thirds of the cost of reading a match. ``STORAGE MAIN`` moves the
compressible text (``detail``) out first and keeps the vector in the row (at 100k units: the
heap 150 -> 195 MB, TOAST 111 -> 75 MB; a match read 6.3 -> 2.4 µs).

Only rows written from now on are placed so; rows already stored keep their vector out of line
until the table is rewritten (``VACUUM FULL units``, which this migration does not run: it
cannot run in a transaction, and it locks the table for minutes at a million units). Answers
are unchanged. SQLite has no such storage: nothing to do there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 11:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _search_storage(storage: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE units ALTER COLUMN search SET STORAGE {storage}")


def upgrade() -> None:
    _search_storage("MAIN")


def downgrade() -> None:
    _search_storage("EXTENDED")
