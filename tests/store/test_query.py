"""query(): approved units sharing a domain, ranked by relevance x confidence, ties by id desc."""

import itertools
from dataclasses import dataclass, field, replace

from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus
from colloquy.domain.normalize import normalize_pattern
from colloquy.store.protocol import QuerySpec, Ranking
from colloquy.store.sql import driver_statements
from tests.store.factories import add_unit, at, expected_points, unit_id


@dataclass(frozen=True)
class Spec:
    """One unit of the ranking fixture, and the evidence that sets its confidence."""

    n: int
    domains: list[str]
    languages: list[str] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)
    pattern: str = ""
    confirms: int = 0
    flags: int = 0
    status: ReviewStatus = ReviewStatus.APPROVED

    @property
    def id(self) -> str:
        return unit_id(self.n)


CORPUS = [
    # Full match, but flagged twice: 1.0 x 2000.
    Spec(1, ["web", "api"], ["python"], ["django"], "Retry-Loop", flags=2),
    # Half the domains, language differs in case: 0.275 x 8000.
    Spec(2, ["web"], ["Python"], confirms=3),
    # Two of three domains plus language: (0.55 * 2/3 + 0.15) x 5000.
    Spec(3, ["web", "api", "db"], ["python", "go"], ["flask"]),
    # One domain plus the pattern: (0.275 + 0.15) x 5000.
    Spec(4, ["api"], pattern="retry-loop"),
    # One of five domains plus framework, at the ceiling: (0.11 + 0.15) x 10000.
    Spec(5, ["web", "x", "y", "z"], frameworks=["django"], confirms=6),
    # An exact tie: same features, same confidence; the larger id ranks first.
    Spec(6, ["api", "db"]),
    Spec(7, ["api", "db"]),
    # Confidence at the floor: still returned, scored 0.
    Spec(8, ["web"], ["python"], flags=4),
    # Never returned: not approved, or no shared domain.
    Spec(9, ["web", "api"], ["python"], ["django"], "retry-loop", status=ReviewStatus.PENDING),
    Spec(10, ["web", "api"], ["python"], ["django"], "retry-loop", status=ReviewStatus.REJECTED),
    Spec(11, ["other"], ["python"], ["django"], "retry-loop", confirms=5),
]


async def build_corpus(store) -> None:
    for i, spec in enumerate(CORPUS):
        await add_unit(
            store,
            spec.status,
            id=spec.id,
            domains=spec.domains,
            languages=spec.languages,
            frameworks=spec.frameworks,
            pattern=spec.pattern,
            confirms=spec.confirms,
            flags=spec.flags,
            created_at=at(i),
        )


def hand_ranking(query: QuerySpec) -> list[str]:
    """The cq ranking, computed in Python with the domain's own relevance()."""
    scored = []
    for spec in CORPUS:
        if spec.status is not ReviewStatus.APPROVED or not set(spec.domains) & set(query.domains):
            continue
        relevance = scoring.relevance(
            set(spec.domains),
            set(query.domains),
            language_hit=bool(set(spec.languages) & set(query.languages)),
            framework_hit=bool(set(spec.frameworks) & set(query.frameworks)),
            pattern_hit=bool(query.pattern)
            and normalize_pattern(spec.pattern) == normalize_pattern(query.pattern),
        )
        score = relevance * expected_points(spec.confirms, spec.flags)
        scored.append((round(score, 6), spec.id))
    scored.sort(reverse=True)
    scores = [s for s, _ in scored]
    # Guard: distinct scores must be far apart so float noise in SQL cannot reorder them.
    for a, b in itertools.pairwise(scores):
        assert a == b or a - b > 1, scored
    return [uid for _, uid in scored][: query.limit]


FULL_QUERY = QuerySpec(
    domains=["web", "api"],
    languages=["python"],
    frameworks=["django"],
    pattern=normalize_pattern("  RETRY-loop "),
    limit=50,
)

QUERIES = [
    FULL_QUERY,
    QuerySpec(domains=["web", "api"], limit=50),
    QuerySpec(domains=["api"], pattern="retry-loop", limit=50),
    # Languages match case-sensitively: "Python" hits unit 2 only.
    QuerySpec(domains=["web"], languages=["Python"], limit=50),
    QuerySpec(domains=["web"], languages=["python"], limit=50),
    QuerySpec(domains=["db", "z"], frameworks=["flask", "django"], limit=50),
    QuerySpec(domains=["nothing"], languages=["python"], limit=50),
]


async def test_ranking_matches_the_hand_computation(store):
    await build_corpus(store)
    for query in QUERIES:
        got = [u.id for u in await store.query(query)]
        assert got == hand_ranking(query), query

    # The full query spelled out, so that a wrong relevance() could not hide a bug:
    # 5: 2600, 3: ~2583, 2: 2200, 4: 2125, 1: 2000, 7 and 6: ~917 (tie, id desc), 8: 0.
    full = [u.id for u in await store.query(FULL_QUERY)]
    assert full == [unit_id(n) for n in (5, 3, 2, 4, 1, 7, 6, 8)]

    for limit in (1, 3, 7):
        query = replace(FULL_QUERY, limit=limit)
        assert [u.id for u in await store.query(query)] == full[:limit]


async def test_only_approved_units_with_a_shared_domain_are_returned(store):
    await build_corpus(store)
    returned = {u.id for u in await store.query(FULL_QUERY)}
    assert unit_id(9) not in returned  # pending
    assert unit_id(10) not in returned  # rejected
    assert unit_id(11) not in returned  # no shared domain, though everything else matches
    assert await store.query(QuerySpec(domains=["other", "none"], limit=5)) == [
        await store.get_approved(unit_id(11))
    ]

    # Units come back whole.
    [unit] = await store.query(QuerySpec(domains=["x"], limit=5))
    assert unit.id == unit_id(5)
    assert unit.domains == ["web", "x", "y", "z"]
    assert unit.context.frameworks == ["django"]
    assert unit.evidence.confidence == 1.0
    assert unit.evidence.confirmations == 7
    assert unit.created_by == "alice"


async def test_a_unit_becomes_queryable_when_approved(store):
    unit = await add_unit(store, domains=["web"])
    assert await store.query(QuerySpec(domains=["web"])) == []
    await store.decide(unit.id, ReviewStatus.APPROVED, "rita", at(5))
    assert [u.id for u in await store.query(QuerySpec(domains=["web"]))] == [unit.id]


async def test_prepared_shapes_compile_nothing_on_first_use(store):
    await build_corpus(store)
    stats_before = await store.stats([0])
    await store.prepare_queries(Ranking.CQ)
    # Nothing observable changes: the placeholder domain holds no units.
    assert await store.stats([0]) == stats_before

    # The statements compiled for this store's read connections (``driver_statements``).
    engine = store.database.read_engine  # SQLite's is synchronous; PostgreSQL's wraps one
    dialect = getattr(engine, "sync_engine", engine).dialect

    def compiled() -> int:
        kept = driver_statements._statements.items()
        return sum(len(statement.forms) for (_, d), statement in kept if d is dialect)

    prepared_shapes = [
        q
        for q in QUERIES
        if len(q.domains) <= 3 and len(q.languages) <= 1 and len(q.frameworks) <= 1
    ]
    # The first query also compiles what every query shares (rendering, dense domains).
    await store.query(prepared_shapes[0])
    before = compiled()
    for query in prepared_shapes:
        assert [u.id for u in await store.query(query)] == hand_ranking(query), query
    assert compiled() == before
    # A shape past the prepared ones is compiled on first use.
    await store.query(QuerySpec(domains=["a", "b", "c", "d"], limit=5))
    assert compiled() > before
