"""A deterministic, realistic corpus of knowledge units, and the skewed draws the load uses.

Why skew matters: in a real commons a handful of tags (``python``, ``api``) sit on a large share
of units, and those are exactly the tags agents query most. A uniform corpus would make every
query touch a few hundred rows and hide the cost of the popular ones. Tags, languages,
frameworks and patterns are therefore drawn from Zipf-like weights (rank ``r`` has weight
``1 / r**s``), both when the corpus is built and when the load generator picks its queries.

Everything is a pure function of ``(seed, size, end)``: the same arguments give the same units,
ids and timestamps, so cached corpora and results are comparable between runs and machines.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from colloquy.domain import scoring
from colloquy.domain.models import (
    Context,
    Evidence,
    Flag,
    FlagReason,
    Insight,
    KnowledgeUnit,
    ReviewStatus,
    Tier,
)
from colloquy.store.protocol import ReviewItem, UnitArchive, UnitEvent

DEFAULT_SEED = 20240611
TIMELINE_DAYS = 730

# Hand-ranked head of the tag distribution; the long tail is generated below.
_HEAD_DOMAINS = [
    "python",
    "api",
    "testing",
    "docker",
    "javascript",
    "database",
    "performance",
    "security",
    "typescript",
    "git",
    "kubernetes",
    "postgresql",
    "ci",
    "react",
    "http",
    "authentication",
    "logging",
    "async",
    "error-handling",
    "configuration",
    "linux",
    "aws",
    "caching",
    "json",
    "sql",
    "node",
    "dependencies",
    "deployment",
    "concurrency",
    "debugging",
    "rest",
    "networking",
    "go",
    "rust",
    "build",
    "packaging",
    "migrations",
    "monitoring",
    "memory",
    "serialization",
    "cli",
    "terraform",
    "graphql",
    "redis",
    "observability",
    "oauth",
    "jwt",
    "ssl",
    "dns",
    "nginx",
    "websockets",
    "grpc",
    "kafka",
    "rabbitmq",
    "celery",
    "pandas",
    "numpy",
    "machine-learning",
    "llm",
    "embeddings",
    "prompting",
    "agents",
    "mcp",
    "sqlite",
    "mysql",
    "mongodb",
    "elasticsearch",
    "s3",
    "lambda",
    "gcp",
    "azure",
    "github-actions",
    "gitlab-ci",
    "bash",
    "shell",
    "regex",
    "unicode",
    "datetime",
    "timezones",
    "encoding",
    "pagination",
    "rate-limiting",
    "retries",
    "timeouts",
    "idempotency",
    "transactions",
    "orm",
    "indexes",
    "schema",
    "validation",
    "pydantic",
    "fastapi",
    "django",
    "flask",
    "express",
    "nextjs",
    "vue",
    "svelte",
    "css",
    "html",
    "accessibility",
    "i18n",
    "mobile",
    "android",
    "ios",
    "swift",
    "kotlin",
    "java",
    "spring",
    "dotnet",
    "csharp",
    "cpp",
    "cmake",
    "webassembly",
    "wasm",
]
_TAIL_TECH = [
    "aws",
    "gcp",
    "azure",
    "k8s",
    "docker",
    "pg",
    "redis",
    "kafka",
    "node",
    "python",
    "go",
    "rust",
    "java",
    "react",
    "vue",
    "terraform",
    "helm",
    "nginx",
    "linux",
]
_TAIL_ASPECTS = [
    "upgrade",
    "quirks",
    "limits",
    "auth",
    "errors",
    "config",
    "perf",
    "tuning",
    "networking",
    "storage",
    "secrets",
    "logging",
    "metrics",
    "testing",
    "ci-cache",
]
VOCABULARY_SIZE = 300


def _domain_vocabulary() -> list[str]:
    """About 300 tags: the hand-ranked head, then ``tech-aspect`` pairs as the long tail."""
    vocab = list(dict.fromkeys(_HEAD_DOMAINS))
    for tech, aspect in itertools.product(_TAIL_TECH, _TAIL_ASPECTS):
        if len(vocab) >= VOCABULARY_SIZE:
            break
        vocab.append(f"{tech}-{aspect}")
    return vocab


DOMAINS = _domain_vocabulary()
LANGUAGES = [
    "python",
    "typescript",
    "javascript",
    "go",
    "rust",
    "java",
    "bash",
    "sql",
    "csharp",
    "kotlin",
    "swift",
    "ruby",
    "php",
    "cpp",
    "c",
    "scala",
    "elixir",
    "haskell",
    "lua",
    "r",
]
FRAMEWORKS = [
    "fastapi",
    "react",
    "django",
    "nextjs",
    "express",
    "flask",
    "spring",
    "pytest",
    "sqlalchemy",
    "pydantic",
    "vue",
    "tokio",
    "axum",
    "gin",
    "rails",
    "laravel",
    "svelte",
    "angular",
    "jest",
    "playwright",
    "celery",
    "numpy",
    "pandas",
    "pytorch",
    "langchain",
]
PATTERNS = [
    "retry-with-backoff",
    "pagination",
    "connection-pooling",
    "circuit-breaker",
    "idempotency-key",
    "dependency-injection",
    "repository",
    "caching-layer",
    "feature-flags",
    "blue-green-deploy",
    "event-sourcing",
    "cqrs",
    "saga",
    "outbox",
    "rate-limiter",
    "bulkhead",
    "graceful-shutdown",
    "health-check",
    "structured-logging",
    "config-from-env",
    "secrets-management",
    "schema-migration",
    "optimistic-locking",
    "batch-processing",
    "streaming",
    "fan-out-fan-in",
    "worker-queue",
    "pub-sub",
    "cache-aside",
    "write-through",
    "lazy-loading",
    "singleton",
    "factory",
    "adapter",
    "strategy",
    "observer",
    "builder",
    "middleware",
    "decorator",
    "context-manager",
]
AGENTS = [f"agent-{i:03d}" for i in range(200)]
REVIEWERS = [f"reviewer-{i}" for i in range(12)]

_WORDS = [
    "the",
    "a",
    "to",
    "of",
    "in",
    "and",
    "for",
    "with",
    "when",
    "on",
    "is",
    "use",
    "not",
    "an",
    "set",
    "by",
    "from",
    "this",
    "that",
    "it",
    "be",
    "or",
    "request",
    "response",
    "client",
    "server",
    "timeout",
    "retry",
    "connection",
    "pool",
    "cache",
    "key",
    "value",
    "token",
    "error",
    "exception",
    "handler",
    "config",
    "setting",
    "default",
    "environment",
    "variable",
    "path",
    "file",
    "module",
    "package",
    "import",
    "version",
    "dependency",
    "build",
    "test",
    "fixture",
    "mock",
    "assert",
    "check",
    "query",
    "index",
    "table",
    "row",
    "column",
    "schema",
    "migration",
    "transaction",
    "lock",
    "commit",
    "rollback",
    "container",
    "image",
    "volume",
    "network",
    "port",
    "host",
    "process",
    "thread",
    "worker",
    "queue",
    "job",
    "task",
    "async",
    "await",
    "event",
    "loop",
    "callback",
    "future",
    "stream",
    "buffer",
    "encode",
    "decode",
    "parse",
    "format",
    "header",
    "body",
    "status",
    "code",
    "json",
    "yaml",
    "field",
    "type",
    "value",
    "list",
    "map",
    "string",
    "integer",
    "null",
    "instead",
    "avoid",
    "prefer",
    "always",
    "never",
    "before",
    "after",
    "because",
    "otherwise",
    "which",
    "returns",
    "raises",
    "fails",
    "silently",
    "breaks",
    "works",
    "slow",
    "fast",
    "memory",
    "leak",
    "deadlock",
    "race",
]

# Share of units per review state; the rest are approved.
PENDING_SHARE = 0.06
REJECTED_SHARE = 0.04
FLAGGED_SHARE = 0.02
DOMAIN_COUNT_WEIGHTS = (0.30, 0.35, 0.25, 0.10)  # 1, 2, 3 or 4 domains


class Zipf:
    """Draws from a ranked vocabulary with weight ``1 / rank**exponent``."""

    def __init__(self, values: Sequence[str], exponent: float) -> None:
        self.values = list(values)
        self._cum = list(
            itertools.accumulate(1.0 / (r**exponent) for r in range(1, len(values) + 1))
        )

    def one(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self._cum)[0]

    def distinct(self, rng: random.Random, count: int) -> list[str]:
        """``count`` different values, in draw order (repeats are redrawn)."""
        picked: dict[str, None] = {}
        while len(picked) < min(count, len(self.values)):
            picked.setdefault(self.one(rng), None)
        return list(picked)


DOMAIN_DIST = Zipf(DOMAINS, 1.1)
LANGUAGE_DIST = Zipf(LANGUAGES, 1.3)
FRAMEWORK_DIST = Zipf(FRAMEWORKS, 1.2)
PATTERN_DIST = Zipf(PATTERNS, 0.9)
AGENT_DIST = Zipf(AGENTS, 0.8)


class TextPool:
    """Realistic-length prose, cheaply: slices of one long seeded word stream.

    Drawing hundreds of words per unit would dominate the loader's time at a million units;
    slicing a pre-built 256 KB string at a random offset costs next to nothing.
    """

    SIZE = 256_000

    def __init__(self, seed: int, vocabulary: Sequence[str] = _WORDS) -> None:
        """``vocabulary``: the words drawn, each as often as it is listed."""
        rng = random.Random(seed)
        words: list[str] = []
        length = 0
        while length < self.SIZE:
            word = rng.choice(vocabulary)
            words.append(word)
            length += len(word) + 1
        self._text = " ".join(words)

    def take(self, rng: random.Random, low: int, high: int) -> str:
        length = rng.randint(low, high)
        start = rng.randrange(0, len(self._text) - length - 1)
        text = self._text[start : start + length].strip()
        return text[:1].upper() + text[1:] + "."


@dataclass(frozen=True)
class UnitContent:
    """What an agent proposes: the part of a unit that the load generator also sends."""

    domains: list[str]
    insight: Insight
    context: Context

    def proposal_body(self) -> dict[str, Any]:
        """The JSON body of ``POST /api/v1/knowledge``."""
        return {
            "domains": self.domains,
            "insight": self.insight.model_dump(),
            "context": self.context.model_dump(),
        }


def draw_content(rng: random.Random, text: TextPool) -> UnitContent:
    """One unit's domains, context and text, with the corpus's skew and lengths."""
    count = rng.choices((1, 2, 3, 4), weights=DOMAIN_COUNT_WEIGHTS)[0]
    languages = LANGUAGE_DIST.distinct(rng, rng.choices((0, 1, 2), weights=(0.25, 0.6, 0.15))[0])
    frameworks = FRAMEWORK_DIST.distinct(rng, rng.choices((0, 1, 2), weights=(0.4, 0.5, 0.1))[0])
    pattern = PATTERN_DIST.one(rng) if rng.random() < 0.7 else ""
    return UnitContent(
        domains=DOMAIN_DIST.distinct(rng, count),
        insight=Insight(
            summary=text.take(rng, 40, 140),
            detail=text.take(rng, 200, 1500),
            action=text.take(rng, 60, 400),
        ),
        context=Context(languages=languages, frameworks=frameworks, pattern=pattern),
    )


def default_end() -> datetime:
    """Midnight UTC today: corpora end "now", so the review trends (last 30 days) have data."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def generate(
    size: int,
    seed: int = DEFAULT_SEED,
    end: datetime | None = None,
    vocabulary: Sequence[str] | None = None,
) -> Iterator[UnitArchive]:
    """``size`` units in creation order, spread evenly over the two years before ``end``, their
    text drawn from ``vocabulary`` (``TextPool``; by default the corpus's own words).

    Chronological order keeps each loader batch within a day or two, so the store's per-day
    counters take a handful of upserts per batch rather than hundreds.
    """
    end = end or default_end()
    rng = random.Random(seed)
    text = TextPool(seed + 1, vocabulary or _WORDS)
    start = end - timedelta(days=TIMELINE_DAYS)
    step = timedelta(days=TIMELINE_DAYS) / max(size, 1)
    for index in range(size):
        created = start + step * index
        yield _archive(rng, text, created)


def _archive(rng: random.Random, text: TextPool, created: datetime) -> UnitArchive:
    content = draw_content(rng, text)
    unit_id = f"ku_{rng.getrandbits(128):032x}"
    proposer = AGENT_DIST.one(rng)
    roll = rng.random()
    if roll < PENDING_SHARE:
        status = ReviewStatus.PENDING
    elif roll < PENDING_SHARE + REJECTED_SHARE:
        status = ReviewStatus.REJECTED
    else:
        status = ReviewStatus.APPROVED
    confirmations = 1
    flags: list[Flag] = []
    last_confirmed = created
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    events = [UnitEvent(kind="proposed", actor=proposer, at=created)]
    if status is not ReviewStatus.PENDING:
        reviewer = rng.choice(REVIEWERS)
        reviewed_at = created + timedelta(minutes=rng.randint(5, 2 * 24 * 60))
        events.append(UnitEvent(kind=status.value, actor=reviewer, at=reviewed_at))
    if status is ReviewStatus.APPROVED:
        # Geometric: most units are never confirmed again, a few are confirmed many times.
        while rng.random() < 0.45 and confirmations < 12:
            confirmations += 1
        assert reviewed_at is not None
        last_confirmed = reviewed_at + timedelta(hours=rng.randint(0, 24 * 30))
        if rng.random() < FLAGGED_SHARE:
            reason = rng.choice((FlagReason.STALE, FlagReason.INCORRECT))
            flags.append(Flag(reason=reason, timestamp=last_confirmed, detail="outdated"))
    points = scoring.INITIAL_POINTS + scoring.BOOST_POINTS * (confirmations - 1)
    points -= scoring.PENALTY_POINTS * len(flags)
    points = max(scoring.FLOOR_POINTS, min(scoring.CEILING_POINTS, points))
    unit = KnowledgeUnit(
        id=unit_id,
        domains=content.domains,
        insight=content.insight,
        context=content.context,
        evidence=Evidence(
            confidence=scoring.from_points(points),
            confirmations=confirmations,
            first_observed=created,
            last_confirmed=last_confirmed,
        ),
        tier=Tier.PRIVATE,
        created_by=proposer,
        flags=flags,
    )
    item = ReviewItem(unit=unit, status=status, reviewed_by=reviewer, reviewed_at=reviewed_at)
    return UnitArchive(item=item, events=events)


def query_params(rng: random.Random) -> list[tuple[str, str]]:
    """A query as an agent asks it: 1-3 skewed domains, often a language, sometimes more."""
    count = rng.choices((1, 2, 3), weights=(0.45, 0.4, 0.15))[0]
    params = [("domains", d) for d in DOMAIN_DIST.distinct(rng, count)]
    if rng.random() < 0.6:
        params.append(("languages", LANGUAGE_DIST.one(rng)))
    if rng.random() < 0.3:
        params.append(("frameworks", FRAMEWORK_DIST.one(rng)))
    if rng.random() < 0.2:
        params.append(("pattern", PATTERN_DIST.one(rng)))
    params.append(("limit", "5"))
    return params
