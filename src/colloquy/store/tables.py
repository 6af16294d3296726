"""Table metadata: the one description of the schema that queries and migrations share."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json() -> Any:
    return JSON().with_variant(JSONB(), "postgresql")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

units = Table(
    "units",
    metadata,
    Column("id", String(35), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("confidence", Integer, nullable=False, doc="basis points, 0..10000"),
    Column("confirmations", Integer, nullable=False),
    Column("flag_count", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, doc="first_observed"),
    Column("last_confirmed", UtcDateTime, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("reviewed_by", String(256)),
    Column("reviewed_at", UtcDateTime),
    Column("review_note", Text),
    Column("summary", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("domains", _json(), nullable=False, doc="normalised, in the proposer's order"),
    Column("domain_count", Integer, nullable=False),
    Column("languages", _json(), nullable=False),
    Column("frameworks", _json(), nullable=False),
    Column("pattern", Text, nullable=False),
    Column("pattern_key", Text, nullable=False, doc="lower-cased pattern, for matching"),
    Column("extensions", _json()),
    Column("superseded_by", String(35)),
    Column(
        "tag_text",
        Text,
        nullable=False,
        server_default="",
        doc="the words of its domains, languages and frameworks (domain/tag_text.py), indexed "
        "for full-text search beside its text",
    ),
    Index(None, "status", "created_at", "id"),
    Index(None, "created_at", "id"),
    Index(None, "created_by", "created_at"),
)

# The ranking indexes: a domain's best units (seeds), and its units above a least confidence
# per domain count (ranges); with what a ranked query reads of each row besides the key.
_SEEDS = ("domain", "feature", "rank", "unit_id")
_RANGES = ("domain", "feature", "domain_count", "confidence")
_TAG_SETS = ("domain_set", "language_set", "framework_set", "pattern_key")
_SEED_PAYLOAD = ("domain_count", "confidence", *_TAG_SETS)
_RANGE_PAYLOAD = ("unit_id", *_TAG_SETS)

# One row per (unit, domain), and one per (unit, domain, language | framework | pattern) for
# queries with those (see store/sql/ranking/): what lets the relevance formula run in SQL. Each
# row carries everything ranking needs of its unit, so that a query reads only these rows, and
# only for units that can make its answer: the unit's domains, languages and frameworks as
# searchable text (``unit_rows.tag_set``) and its pattern, written once (they never change);
# ``rank`` (confidence / domain_count) orders a domain's best units, and (domain, domain_count,
# confidence) finds those above a score bound. Those two are NULL while the unit is not
# approved, which keeps it out of every ranking range.
unit_domains = Table(
    "unit_domains",
    metadata,
    Column("domain", String(64), primary_key=True),
    Column("feature", Text, primary_key=True, doc="'' or language:, framework:, pattern:<v>"),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("domain_count", Integer, nullable=False),
    Column("domain_set", Text, nullable=False),
    Column("language_set", Text, nullable=False),
    Column("framework_set", Text, nullable=False),
    Column("pattern_key", Text, nullable=False),
    Column("confidence", Integer),
    Column("rank", Float),
    Index(None, "unit_id"),
    # PostgreSQL fetches the payload from the table: its index entries are capped at about
    # 2.7 kB, and a unit's tag sets can be longer than that.
    Index(None, *_SEEDS).ddl_if(dialect="postgresql"),
    Index(None, *_RANGES).ddl_if(dialect="postgresql"),
    # SQLite keeps the whole payload in both: a statement then reads each row from the index,
    # in order, instead of looking every one up in a table spread over the whole file.
    Index("ix_unit_domains_seeds", *_SEEDS, *_SEED_PAYLOAD).ddl_if(dialect="sqlite"),
    Index("ix_unit_domains_ranges", *_RANGES, *_RANGE_PAYLOAD).ddl_if(dialect="sqlite"),
)

flags = Table(
    "flags",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("detail", Text),
    Column("duplicate_of", String(35)),
    Column("actor", String(256), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "unit_id", "id"),
)

# The events that the activity feed lists (the review decisions), with an index each.
DECISION_KINDS = ("approved", "rejected")


def _newest(kind: str) -> Index:
    where = text(f"kind = '{kind}'")
    return Index(f"ix_events_{kind}_id", "id", sqlite_where=where, postgresql_where=where)


# Append-only audit trail: who proposed, decided, confirmed and flagged what, and when.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("note", Text),
    Column("duplicate_of", String(35), doc="a rejection's original (migration 0009)"),
    Index(None, "unit_id", "id"),
    # The activity feed's newest decisions of each kind. A partial index per kind is the only
    # plan for it: given one on (kind, id), PostgreSQL may prefer walking the primary key
    # backwards past every other kind of event (confirmations, flags) to reach 20 rejections.
    *(_newest(kind) for kind in DECISION_KINDS),
)

# Counters that nearly every write adds to are kept in shards: each write transaction adds to
# one shard, picked at random, and reads sum the shards. Concurrent writers on PostgreSQL then
# rarely wait for one another's row lock. SQLite has one writer, so it keeps one shard (0).

# Proposals and decisions per UTC day, kept current by the writes themselves.
daily_counts = Table(
    "daily_counts",
    metadata,
    Column("day", Date, primary_key=True),
    Column("shard", SmallInteger, primary_key=True, server_default=text("0")),
    Column("proposed", Integer, nullable=False, default=0),
    Column("approved", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
)

# Aggregates kept current by the writes themselves, so that stats never scan the units:
# "status:<s>" (every unit), "tier:<t>" and "confidence:<points>" (approved units). A shard
# may go below zero (a unit counted in one shard and uncounted in another); sums never do.
unit_counts = Table(
    "unit_counts",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("shard", SmallInteger, primary_key=True, server_default=text("0")),
    Column("n", BigInteger, nullable=False),
)
# Not sharded: only approvals add to it, and the statistics list its largest domains straight
# from the (approved, domain) index, which summed shards could not use.
domain_counts = Table(
    "domain_counts",
    metadata,
    Column("domain", String(64), primary_key=True),
    Column("approved", BigInteger, nullable=False),
    Index(None, "approved", "domain"),
)

# Each unit's vector by the embedding model named in ``model_id`` (``colloquy[semantic]``):
# little-endian float32 bytes, read only for a bounded set of candidates to re-rank, so no vector
# index and no database extension. A row by another model is stale: it is computed again and
# replaced. Rows are written after the unit is stored, off the request path.
unit_embeddings = Table(
    "unit_embeddings",
    metadata,
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", String(64), nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Bumped by a password reset or a role change: sessions issued before it end at once.
    Column("session_generation", Integer, nullable=False, server_default=text("0")),
    # Ids are never reused (session tokens name the user's id), SQLite included.
    sqlite_autoincrement=True,
)

# The one-time setup tokens (``security.setup_tokens``) that may create the first admin, kept as
# SHA-256 hashes: one per server start while no user exists (every replica and restart adds its
# own, bounded in ``store.sql.setup``), all deleted when a user is created.
setup_tokens = Table(
    "setup_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("labels", _json(), nullable=False),
    Column("key_prefix", String(8), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("ttl", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Index(None, "user_id", "created_at"),
)

# Session tokens signed out before they expired; rows past expires_at can be dropped.
revoked_sessions = Table(
    "revoked_sessions",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
)

# Admin actions on accounts (user created, role changed, password reset, user deleted, key
# revoked): who did what to whom, and when. Append-only; written in the action's transaction.
# Newest first by id; the target is a name, not a key, so entries outlive deleted users.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    Column("detail", _json(), nullable=False),
)

# The alias table of tag wording (``domain.tags``): an alias word -> the canonical word it
# stands for, edited by admins. Small (capped in ``store.sql.aliases``) and read whole.
tag_aliases = Table(
    "tag_aliases",
    metadata,
    Column("alias", String(64), primary_key=True),
    Column("canonical", String(64), nullable=False),
    Column("added_by", String(256), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)

# Throttles shared by every process: failed sign-ins per username and per client address, and
# each API key's write allowance. ``subject`` is a keyed digest of the name (a mistyped
# password in a username field is never kept). Times are epoch microseconds, so that waits are
# plain integer arithmetic in both dialects. A sign-in row counts failures (``count``) and
# refuses attempts until ``until_us``; a write-allowance row keeps the time its allowance is
# spent up to (``until_us``, the theoretical arrival time of a generic cell rate algorithm) and
# the latest request it counted, plus the window (``expires_us``).
# Rows past ``expires_us`` mean nothing any more and are deleted in small batches.
throttles = Table(
    "throttles",
    metadata,
    Column("scope", String(16), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("until_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Index(None, "expires_us"),
)
