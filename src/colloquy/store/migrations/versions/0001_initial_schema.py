"""Initial schema: units with their tag side tables, flags, events, daily counts, accounts.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 09:54:44.577618
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("proposed", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_counts")),
    )
    op.create_table(
        "unit_counts",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_unit_counts")),
    )
    op.create_table(
        "domain_counts",
        sa.Column("domain", sa.String(length=64), nullable=False),
        sa.Column("approved", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_domain_counts")),
    )
    with op.batch_alter_table("domain_counts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_domain_counts_approved_domain"), ["approved", "domain"], unique=False
        )
    op.create_table(
        "revoked_sessions",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_revoked_sessions")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("confirmations", sa.Integer(), nullable=False),
        sa.Column("flag_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_confirmed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("reviewed_by", sa.String(length=256), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column(
            "domains", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("domain_count", sa.Integer(), nullable=False),
        sa.Column(
            "languages", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "frameworks", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("pattern_key", sa.Text(), nullable=False),
        sa.Column(
            "extensions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("superseded_by", sa.String(length=35), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_units_created_at_id"), ["created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_units_created_by_created_at"), ["created_by", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_units_status_created_at_id"),
            ["status", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "labels", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("key_prefix", sa.String(length=8), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("ttl", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_user_id_created_at"), ["user_id", "created_at"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.String(length=35), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_events_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_kind_id"), ["kind", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_unit_id_id"), ["unit_id", "id"], unique=False)

    op.create_table(
        "flags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.String(length=35), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("duplicate_of", sa.String(length=35), nullable=True),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_flags_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
    )
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flags_unit_id_id"), ["unit_id", "id"], unique=False)

    op.create_table(
        "unit_domains",
        sa.Column("domain", sa.String(length=64), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.String(length=35), nullable=False),
        sa.Column("domain_count", sa.Integer(), nullable=False),
        sa.Column("domain_set", sa.Text(), nullable=False),
        sa.Column("language_set", sa.Text(), nullable=False),
        sa.Column("framework_set", sa.Text(), nullable=False),
        sa.Column("pattern_key", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("rank", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_unit_domains_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", "feature", "unit_id", name=op.f("pk_unit_domains")),
    )
    with op.batch_alter_table("unit_domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_domains_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_unit_domains_domain_feature_rank_unit_id"),
            ["domain", "feature", "rank", "unit_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_unit_domains_domain_feature_domain_count_confidence"),
            ["domain", "feature", "domain_count", "confidence"],
            unique=False,
        )

    _create_full_text_search()


def _create_full_text_search() -> None:
    """Full-text search over summary, detail and action: FTS5 on SQLite, a generated tsvector
    with a GIN index on PostgreSQL. Unit text never changes, so inserts and deletes suffice."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE units ADD COLUMN search tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', summary || ' ' || detail || ' ' || action)) STORED"
        )
        op.execute("CREATE INDEX ix_units_search ON units USING gin (search)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE units_fts USING fts5(summary, detail, action, "
        "content='units', content_rowid='rowid', tokenize='porter unicode61')"
    )
    op.execute(
        "CREATE TRIGGER units_fts_insert AFTER INSERT ON units BEGIN "
        "INSERT INTO units_fts(rowid, summary, detail, action) "
        "VALUES (new.rowid, new.summary, new.detail, new.action); END"
    )
    op.execute(
        "CREATE TRIGGER units_fts_delete AFTER DELETE ON units BEGIN "
        "INSERT INTO units_fts(units_fts, rowid, summary, detail, action) "
        "VALUES ('delete', old.rowid, old.summary, old.detail, old.action); END"
    )


def downgrade() -> None:
    op.drop_table("domain_counts")
    op.drop_table("unit_counts")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS units_fts_insert")
        op.execute("DROP TRIGGER IF EXISTS units_fts_delete")
        op.execute("DROP TABLE IF EXISTS units_fts")
    with op.batch_alter_table("unit_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_domains_unit_id"))

    op.drop_table("unit_domains")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flags_unit_id_id"))

    op.drop_table("flags")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_unit_id_id"))
        batch_op.drop_index(batch_op.f("ix_events_kind_id"))

    op.drop_table("events")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id_created_at"))

    op.drop_table("api_keys")
    op.drop_table("users")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_units_created_by_created_at"))
        batch_op.drop_index(batch_op.f("ix_units_created_at_id"))

    op.drop_table("units")
    op.drop_table("revoked_sessions")
    op.drop_table("daily_counts")
