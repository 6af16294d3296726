"""The async Store protocol: every storage operation colloquy needs, with typed records, and
every error a store raises.

Above this seam live HTTP, auth and business rules; below it only SQL. Every state change is one
atomic database operation, so concurrent requests (from several processes too) lose nothing.

How an outcome other than success comes back, the same for every method:

- **Not found** is ``None``. A read of one thing returns it or ``None`` (a listing: an empty
  one); a change to one named thing (a unit, a user, a key) returns the thing as changed, or
  ``None`` when there is no such thing (for evidence: no such *approved* unit). Never ``False``,
  never an exception.
- **Conflict**, a change that what is stored refuses (the unit is decided already, the name is
  taken, the cap is reached, the last admin would go), raises a subclass of ``Conflict``, and
  nothing was written.
- Writes made in passing, whose caller has nothing to do about a missing target
  (``touch_api_key``, ``revoke_session``, the throttles), return nothing and skip it.
- A page cursor this store did not issue raises ``InvalidCursor``; a database that cannot do the
  work raises a ``StoreFault``, from any method.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from colloquy.domain.models import (
    Context,
    FlagReason,
    Insight,
    KnowledgeUnit,
    ReviewStatus,
    Role,
)
from colloquy.domain.ranking import Ranking as Ranking  # part of a query's spec

# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class NewUnit:
    """A proposal, normalised and validated, ready to be stored as ``pending``."""

    id: str
    domains: list[str]
    insight: Insight
    context: Context
    created_by: str
    created_at: datetime
    extensions: dict[str, Any] | None = None


@dataclass(frozen=True)
class UnitArchive:
    """A unit with everything needed to recreate it elsewhere: review state, flags, history."""

    item: "ReviewItem"
    events: list["UnitEvent"]


@dataclass(frozen=True)
class QuerySpec:
    """A ranked query; ``domains`` are normalised and non-empty unless ``q`` (free text, at
    most 1,000 characters) is given; ``limit`` is already capped. The service picks
    ``ranking`` from the settings; ``cq`` ranking ignores ``q``."""

    domains: list[str]
    languages: list[str] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)
    pattern: str = ""
    limit: int = 5
    q: str = ""
    ranking: Ranking = Ranking.CQ


@dataclass(frozen=True)
class RankedUnit:
    unit: KnowledgeUnit
    score: float


@dataclass(frozen=True)
class UnitFilter:
    """Filters for browsing units; ``None`` means "any". Confidence bounds are basis points:
    ``min <= c``, and ``c < max`` unless max is the ceiling, which is inclusive."""

    status: ReviewStatus | None = None
    domain: str | None = None
    confidence_min: int | None = None
    confidence_max: int | None = None
    created_by: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class ReviewItem:
    unit: KnowledgeUnit
    status: ReviewStatus
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class KnowledgeStats:
    """Aggregates over approved units, except ``total_count`` which counts every unit."""

    total_count: int
    status_counts: dict[ReviewStatus, int]
    tier_counts: dict[str, int]
    domain_counts: dict[str, int]
    confidence_points: dict[int, int]
    """Units per bucket, keyed by the bucket's lower edge in points (edges as asked for)."""


@dataclass(frozen=True)
class Decision:
    unit_id: str
    status: ReviewStatus
    reviewed_by: str
    reviewed_at: datetime
    duplicate_of: str | None = None
    """The unit this one was rejected as a duplicate of."""


# The most neighbours one unit is asked for.
MAX_NEIGHBOURS = 10


@dataclass(frozen=True)
class Neighbour:
    """A unit whose text is close to another's: possibly the same knowledge."""

    unit_id: str
    summary: str
    status: ReviewStatus
    score: float
    """How close, from 0 to 1: the unit's full-text score over the best score of the search
    (usually the unit asked about, matching itself)."""


@dataclass(frozen=True)
class FlagInput:
    reason: FlagReason
    detail: str | None = None
    duplicate_of: str | None = None


EventKind = Literal["proposed", "approved", "rejected", "confirmed", "flagged", "quarantined"]


@dataclass(frozen=True)
class ProposedActivity:
    unit_id: str
    summary: str
    timestamp: datetime
    proposed_by: str
    type: Literal["proposed"] = "proposed"


@dataclass(frozen=True)
class DecidedActivity:
    unit_id: str
    summary: str
    timestamp: datetime
    reviewed_by: str
    type: Literal["approved", "rejected"] = "approved"


Activity = ProposedActivity | DecidedActivity


@dataclass(frozen=True)
class UnitEvent:
    """One line of a unit's history (the audit trail)."""

    kind: EventKind
    actor: str
    at: datetime
    note: str | None = None
    duplicate_of: str | None = None
    """A rejection's original: the unit this one duplicates."""


@dataclass(frozen=True)
class DailyCount:
    day: date
    proposed: int
    approved: int
    rejected: int


@dataclass(frozen=True)
class ReviewOverview:
    """What the review statistics show."""

    stats: KnowledgeStats
    activity: list[Activity]
    daily: list[DailyCount]


# ---------------------------------------------------------------- accounts


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class UserCredential:
    user: UserRecord
    password_hash: str
    session_generation: int
    """Sessions carry the generation they were issued in; bumping it ends them all."""


@dataclass(frozen=True)
class UserChanges:
    """What an admin changes of a user; ``None`` leaves a field as it is."""

    role: Role | None = None
    password_hash: str | None = None


AuditAction = Literal[
    "user_created",
    "role_changed",
    "password_reset",
    "user_deleted",
    "key_revoked",
    "alias_added",
    "alias_removed",
]


@dataclass(frozen=True)
class AuditEntry:
    """One admin action on an account: the accounts' audit trail."""

    action: AuditAction
    actor: str
    """A username, or ``cli:<os user>`` for the command line."""
    target: str
    """The account acted on, by name (kept after it is deleted), or the alias word."""
    at: datetime
    detail: dict[str, str]


@dataclass(frozen=True)
class NewApiKey:
    id: str
    user_id: int
    name: str
    labels: list[str]
    prefix: str
    key_hash: str
    ttl: str
    expires_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    name: str
    labels: list[str]
    prefix: str
    ttl: str
    expires_at: datetime
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class ApiKeyCredential:
    """What authenticating a key needs: its hash and its owner."""

    key_id: str
    key_hash: str
    last_used_at: datetime | None
    user: UserRecord


@dataclass(frozen=True)
class UserArchive:
    user: UserRecord
    password_hash: str


@dataclass(frozen=True)
class KeyArchive:
    key: ApiKeyRecord
    username: str
    key_hash: str


@dataclass(frozen=True)
class UnitFinding:
    """A stored unit that breaks an input bound (``domain.bounds``), and its status then."""

    unit_id: str
    status: ReviewStatus
    problems: list[str]


@dataclass(frozen=True)
class UnitCheck:
    """One page of ``check_units``: how many units it read, what it found, where to go on."""

    checked: int
    findings: list[UnitFinding]
    next_after: str | None


# ---------------------------------------------------------------- tag aliases


@dataclass(frozen=True)
class AliasRecord:
    """One alias of tag wording (``domain.tags``): ``alias`` stands for ``canonical``."""

    alias: str
    canonical: str
    added_by: str
    """A username, ``cli:<os user>``, or ``colloquy`` for the shipped defaults."""
    added_at: datetime


# ---------------------------------------------------------------- embeddings

MAX_EMBED_WINDOW = 1_000
"""The most units one ``units_to_embed`` call looks at."""
MAX_VECTOR_READ = 500
"""The most vectors one ``unit_vectors`` call reads (a re-rank's candidates)."""


@dataclass(frozen=True)
class EmbeddingSource:
    """What a unit's vector is computed from: its insight and its tags (domains, languages,
    frameworks, in that order)."""

    unit_id: str
    summary: str
    detail: str
    action: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class EmbeddingScan:
    """One window of ``units_to_embed``: its units without a current vector, and where the next
    window starts (``None``: this one reached the last unit)."""

    units: list[EmbeddingSource]
    next_after: str | None


# ---------------------------------------------------------------- throttles


@dataclass(frozen=True)
class ThrottleKey:
    """What a throttle counts for: a ``scope`` (what is throttled) and an opaque ``subject``
    (whose attempts: at most 64 characters, a digest of a username, address or key)."""

    scope: str
    subject: str


@dataclass(frozen=True)
class Backoff:
    """Failures allowed without a wait; after that each failure makes the next attempt wait,
    ``first_wait`` doubling up to ``max_wait``. Failures are forgotten after ``forget_after``
    without any."""

    free: int
    first_wait: timedelta
    max_wait: timedelta
    forget_after: timedelta

    def wait(self, failures: int) -> timedelta:
        """How long the attempt after ``failures`` failures must wait."""
        if failures < self.free:
            return timedelta(0)
        doublings = failures - self.free
        if doublings >= 32 or self.first_wait * 2**doublings >= self.max_wait:
            return self.max_wait
        return self.first_wait * 2**doublings


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests in any ``window`` (a burst of ``limit`` at once included)."""

    limit: int
    window: timedelta


@dataclass(frozen=True)
class Allowance:
    """A write that spends one request of ``key``'s allowance under ``limit``, in the write's
    own transaction: the store raises ``AllowanceSpent`` (having written nothing) when there is
    none left."""

    key: ThrottleKey
    limit: RateLimit


# ---------------------------------------------------------------- errors


class AllowanceSpent(Exception):
    """A write refused, with nothing written, because its allowance is spent; ``wait``: how
    long until there is one again."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"allowance spent for {wait}")
        self.wait = wait


class InvalidCursor(ValueError):
    """A page cursor that this store did not issue (callers answer it as bad input)."""


class Conflict(Exception):
    """What is stored refuses the change; nothing of it was written."""


class AlreadyDecided(Conflict):
    """The unit is no longer pending: ``status`` is the decision it already has."""

    def __init__(self, status: ReviewStatus) -> None:
        super().__init__(status.value)
        self.status = status


class NotAnOriginal(Conflict):
    """A rejection as a duplicate names no other pending or approved unit."""


class KeyLimitReached(Conflict):
    """The owner already has the maximum number of active keys."""


class UsernameTaken(Conflict):
    """A user with that name exists."""


class LastAdmin(Conflict):
    """The change would leave no admin."""


class AliasExists(Conflict):
    """The alias is stored already, naming ``canonical``."""

    def __init__(self, alias: str, canonical: str) -> None:
        super().__init__(f"{alias!r} is already an alias of {canonical!r}")
        self.canonical = canonical


class AliasChain(Conflict):
    """With the aliases stored, the new one would make a chain (``domain.tags.check_alias``)."""


class AliasLimitReached(Conflict):
    """The table holds the most aliases it may (``domain.tags.MAX_ALIASES``)."""


class StoreFault(Exception):
    """The database could not do the work for a reason outside the request; raised by every
    store method in place of the driver's error, so callers need no SQL knowledge."""


class DatabaseUnavailable(StoreFault):
    """The database cannot be reached or refuses work for now (stopped, restarting, no free
    connection in time); the same request may succeed later."""


class StorageFull(StoreFault):
    """The database has no room to store more; nothing of the failed write was kept."""


@runtime_checkable
class Store(Protocol):
    """Every storage operation of colloquy. Backends: ``SqliteStore``, ``PostgresStore``."""

    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Return once the database answers; raise ``DatabaseUnavailable`` otherwise."""

    # units
    async def insert_unit(self, unit: NewUnit, allowance: Allowance | None = None) -> KnowledgeUnit:
        """Spends ``allowance`` at ``unit.created_at`` (``AllowanceSpent`` when none is left)."""
        ...

    async def get_unit(self, unit_id: str) -> ReviewItem | None: ...
    async def get_approved(self, unit_id: str) -> KnowledgeUnit | None:
        """None as well when the unit is not approved."""
        ...

    async def query(self, spec: QuerySpec) -> list[KnowledgeUnit]: ...
    async def ranked(self, spec: QuerySpec) -> list[RankedUnit]:
        """``query``'s units with their scores (higher is better; comparable within one
        answer only), for a re-ranker."""
        ...

    async def prepare_queries(self, ranking: Ranking) -> None:
        """Get the common query shapes of ``ranking`` ready ahead of their first use (speed
        only)."""

    async def page_units(
        self, filters: UnitFilter, cursor: str | None, limit: int
    ) -> Page[ReviewItem]: ...
    async def stats(self, bucket_edges: Sequence[int]) -> KnowledgeStats: ...

    # evidence: the unit as changed, or None when there is no such approved unit
    async def confirm(
        self, unit_id: str, actor: str, at: datetime, allowance: Allowance | None = None
    ) -> KnowledgeUnit | None:
        """None when no approved unit has the id; ``allowance`` is spent at ``at`` even then
        (``AllowanceSpent`` when none is left), so that unknown ids cost as much as known ones."""
        ...

    async def flag(
        self,
        unit_id: str,
        flag: FlagInput,
        actor: str,
        at: datetime,
        allowance: Allowance | None = None,
    ) -> KnowledgeUnit | None:
        """As ``confirm``."""
        ...

    # review
    async def decide(
        self,
        unit_id: str,
        status: ReviewStatus,
        reviewer: str,
        at: datetime,
        note: str | None = None,
        duplicate_of: str | None = None,
    ) -> Decision | None:
        """Decide a pending unit; None: no such unit. Raises ``AlreadyDecided`` when it is not
        pending any more (of two concurrent decisions, one raises). ``duplicate_of`` (with a
        rejection only) names the unit this one duplicates, kept on the decision's event;
        raises ``NotAnOriginal`` unless that is another unit, pending or approved."""
        ...

    async def neighbours(self, unit_id: str, limit: int) -> list[Neighbour]:
        """The pending and approved units whose text is closest to the unit's, best first:
        never itself, at most ``limit`` (up to ``MAX_NEIGHBOURS``), and only those close enough
        to be worth a reviewer's look. Empty for a missing or rejected unit."""
        ...

    async def pending_page(self, limit: int, offset: int) -> tuple[list[ReviewItem], int]: ...
    async def review_overview(
        self, bucket_edges: Sequence[int], activity_limit: int, since: date
    ) -> ReviewOverview:
        """The knowledge stats, the newest ``activity_limit`` decisions and pending proposals,
        and the daily counts since ``since``: what the review dashboard shows, in one read."""
        ...

    async def history(self, unit_id: str, limit: int) -> list[UnitEvent]: ...

    # users
    async def create_user(
        self,
        username: str,
        password_hash: str,
        role: Role | None,
        at: datetime,
        actor: str | None = None,
    ) -> UserRecord:
        """``actor``: who created the user, recorded in the audit trail (None: nobody's
        action, nothing recorded). ``role`` None: admin for the first user, else reviewer.
        Any user's creation deletes the setup tokens. Raises ``UsernameTaken``."""
        ...

    # first-start setup (``services.setup``)
    async def has_users(self) -> bool: ...
    async def open_setup(self, token_hash: str, at: datetime, keep: int) -> bool:
        """Store a setup token's hash unless a user exists (False then), keeping the newest
        ``keep`` hashes."""
        ...

    async def setup_token_hashes(self, limit: int) -> list[str]:
        """The stored setup tokens' hashes, newest first, at most ``limit``."""
        ...

    async def create_first_admin(
        self, username: str, password_hash: str, token_hash: str, at: datetime
    ) -> UserRecord | None:
        """An admin, created only while no user exists and ``token_hash`` is stored, in one
        transaction that every other first-user creation waits for, so that of concurrent
        calls at most one succeeds; it deletes every setup token. None: a user exists or the
        token is gone. The audit trail names ``setup`` as the actor."""
        ...

    async def get_user(self, username: str) -> UserRecord | None: ...
    async def get_credential(self, username: str) -> UserCredential | None: ...
    async def list_users(self, after: str | None, limit: int) -> Page[UserRecord]: ...
    async def rehash_password(self, username: str, password_hash: str) -> UserRecord | None:
        """The same password under a stronger hash: sessions live on, nothing is audited.
        None: no such user."""
        ...

    async def update_user(
        self, username: str, changes: UserChanges, actor: str, at: datetime
    ) -> UserRecord | None:
        """An admin's change, audited; a real change ends the user's sessions. None: no such
        user. Raises ``LastAdmin`` rather than demote the only admin."""
        ...

    async def delete_user(self, username: str, actor: str, at: datetime) -> UserRecord | None:
        """Audited; the user as it was, or None: no such user. Raises ``LastAdmin`` rather than
        delete the only admin."""
        ...

    async def revoke_session(self, token_id: str, expires_at: datetime, at: datetime) -> None:
        """Refuse a session token from now until it expires; revoking twice is once."""
        ...

    async def session_user(
        self, username: str, token_id: str, generation: int = 0
    ) -> UserRecord | None:
        """The user of a live session: not revoked, and of the user's current generation."""
        ...

    # API keys
    async def create_api_key(self, key: NewApiKey, max_active: int) -> ApiKeyRecord:
        """Raises ``KeyLimitReached`` when the owner has ``max_active`` active keys."""
        ...

    async def list_api_keys(self, user_id: int) -> list[ApiKeyRecord]: ...
    async def revoke_api_key(
        self, user_id: int, key_id: str, at: datetime, actor: str | None = None
    ) -> ApiKeyRecord | None:
        """The key as revoked (revoking again keeps the first ``revoked_at``), or None: the
        user has no such key. ``actor``: an admin revoking someone's key, recorded in the audit
        trail the first time."""
        ...

    async def key_credential(self, key_id: str, at: datetime) -> ApiKeyCredential | None: ...
    async def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Note the key's last use; an unknown key is skipped."""
        ...

    # the audit trail of admin actions, newest first
    async def audit_page(self, cursor: str | None, limit: int) -> Page[AuditEntry]: ...

    # tag aliases (``domain.tags``): a small table, capped, edited by admins, audited
    async def list_aliases(self) -> list[AliasRecord]:
        """Every alias, by alias (at most ``domain.tags.MAX_ALIASES``)."""
        ...

    async def add_alias(self, alias: str, canonical: str, actor: str, at: datetime) -> AliasRecord:
        """Store an alias, both words as tag words (``domain.tags.alias_word``: ValueError for
        text that is not one word; callers check first). Raises ``AliasExists``,
        ``AliasChain`` (checked against the stored table in the same transaction; an alias of
        itself too) or ``AliasLimitReached``."""
        ...

    async def remove_alias(self, alias: str, actor: str, at: datetime) -> AliasRecord | None:
        """The alias as it was, or None: no such alias."""
        ...

    # throttles (shared by every process on the database)
    async def count_attempt(
        self, keys: Sequence[tuple[ThrottleKey, Backoff]], at: datetime
    ) -> timedelta | None:
        """Count an attempt as failed against each key in turn, unless that key must wait:
        then how long, and neither it nor the keys after it count the attempt. ``None`` when
        every key counted it. Concurrent attempts (from any process) all count."""
        ...

    async def settle_attempt(
        self, cleared: Sequence[ThrottleKey], refunded: Sequence[ThrottleKey]
    ) -> None:
        """An attempt succeeded: forget ``cleared``'s failures and take this one back from
        ``refunded``'s."""
        ...

    # moving data between servers; imports skip what exists and return how many were added
    async def export_units(self, after: str | None, limit: int) -> list[UnitArchive]: ...
    async def import_units(self, units: Sequence[UnitArchive]) -> int: ...
    async def export_users(self, after: str | None, limit: int) -> list[UserArchive]: ...
    async def import_users(self, users: Sequence[UserArchive]) -> int: ...
    async def export_keys(self, after: str | None, limit: int) -> list[KeyArchive]: ...
    async def import_keys(self, keys: Sequence[KeyArchive]) -> int: ...

    # units stored before the input bounds (``colloquy doctor``)
    async def check_units(self, after: str | None, limit: int) -> UnitCheck:
        """The units after id ``after`` (up to ``limit``, by id) that break a bound."""
        ...

    async def quarantine_unit(self, unit_id: str, actor: str, at: datetime) -> UnitFinding | None:
        """Reject a unit that breaks a bound, reason in its review note, its text and tags
        repaired (unstorable characters replaced, tags cut to length, bad extensions dropped)
        and the kept counters moved, in one transaction; None if there is no such unit or it
        breaks no bound (any more)."""
        ...

    # vectors of units (``colloquy[semantic]``): opaque bytes here, by the model that made them
    async def units_to_embed(self, model_id: str, after: str | None, window: int) -> EmbeddingScan:
        """Of the next ``window`` units by id after ``after`` (at most ``MAX_EMBED_WINDOW``),
        those without a vector by ``model_id`` (none, or one by another model)."""
        ...

    async def embedding_backlog(self, model_id: str) -> int:
        """How many units have no vector by ``model_id``: a count over every unit, for the
        command line, never for a request."""
        ...

    async def store_vectors(self, model_id: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        """Store each ``(unit id, vector)``, replacing the unit's earlier one; a unit that is
        gone by now is skipped."""
        ...

    async def unit_vectors(self, model_id: str, unit_ids: Sequence[str]) -> dict[str, bytes]:
        """The vectors by ``model_id`` of those of ``unit_ids`` that have one (at most
        ``MAX_VECTOR_READ`` ids, else ValueError)."""
        ...
