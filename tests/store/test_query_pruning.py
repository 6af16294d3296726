"""The pruned ranked query returns exactly what scoring every candidate would."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from colloquy.domain import scoring
from colloquy.domain.models import Context, Evidence, Insight, KnowledgeUnit, ReviewStatus
from colloquy.store.protocol import QuerySpec, ReviewItem, UnitArchive
from colloquy.store.sql import SqlStore, driver_statements
from colloquy.store.sql.ranking import Planner

VOCABULARY = ["python", "api", "db", "web", "async", "testing", "ci", "cache"]
LANGUAGES = ["python", "go", "rust"]
FRAMEWORKS = ["django", "gin", 'odd "quoted", name']
PATTERNS = ["", "retry", "pool"]
DENSE_DOMAIN_UNITS = Planner().dense_domain_units


class FixedSizes:
    """Domain sizes that never change: any, even wrong, must give the same answers."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self._sizes = sizes

    def read(self, _conn: Connection) -> dict[str, int]:
        return self._sizes


def corpus(rng: random.Random, size: int) -> list[UnitArchive]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    archives = []
    for i in range(size):
        # A skew towards the first tags, so that some queries have many candidates.
        domains = list(
            dict.fromkeys(rng.choices(VOCABULARY[: rng.randint(2, 8)], k=rng.randint(1, 4)))
        )
        if rng.random() < 0.1:  # some units with many domains: the shared "6 or more" range
            domains = rng.sample(VOCABULARY, rng.randint(5, 8))
        status = rng.choice([ReviewStatus.APPROVED] * 4 + [ReviewStatus.PENDING])
        unit = KnowledgeUnit(
            id=f"ku_{i:032x}",
            domains=domains,
            insight=Insight(summary=f"unit {i}", detail="d", action="a"),
            context=Context(
                languages=rng.sample(LANGUAGES, rng.randint(0, 2)),
                frameworks=rng.sample(FRAMEWORKS, rng.randint(0, 1)),
                pattern=rng.choice(PATTERNS).title(),
            ),
            evidence=Evidence(
                confidence=rng.choice([0.5, 0.5, 0.5, 0.6, 0.35, 1.0, 0.0, 0.85]),
                confirmations=1,
                first_observed=start + timedelta(minutes=i),
                last_confirmed=start + timedelta(minutes=i),
            ),
            created_by="seed",
        )
        archives.append(
            UnitArchive(
                item=ReviewItem(unit=unit, status=status, reviewed_by=None, reviewed_at=None),
                events=[],
            )
        )
    return archives


def brute_force(archives: list[UnitArchive], spec: QuerySpec) -> list[str]:
    scored = []
    for archive in archives:
        unit = archive.item.unit
        if archive.item.status is not ReviewStatus.APPROVED:
            continue
        domains = set(unit.domains)
        if not domains & set(spec.domains):
            continue
        relevance = scoring.relevance(
            domains,
            set(spec.domains),
            bool(set(spec.languages) & set(unit.context.languages)),
            bool(set(spec.frameworks) & set(unit.context.frameworks)),
            bool(spec.pattern) and spec.pattern == unit.context.pattern.lower(),
        )
        scored.append((round(relevance * unit.evidence.confidence, 9), unit.id))
    scored.sort(reverse=True)
    return [unit_id for _, unit_id in scored[: spec.limit]]


@pytest.mark.parametrize(
    ("seed_size", "dense_units", "sizes"),
    [
        (64, DENSE_DOMAIN_UNITS, "real"),
        (1, DENSE_DOMAIN_UNITS, "real"),
        (64, 1, "real"),
        (1, DENSE_DOMAIN_UNITS, "shuffled"),
    ],
)
async def test_pruned_query_matches_brute_force(store, seed_size, dense_units, sizes):
    # A seed of one unit per domain sends nearly every query through the pruning rounds; a
    # dense threshold of one starts every query's first round at the best possible score;
    # shuffled domain sizes order the bounds at random (any order must give the same answer).
    planner = Planner(seed_per_domain=seed_size, dense_domain_units=dense_units)
    fixed = None
    if sizes == "shuffled":
        order = random.Random(3).sample(range(10**6), len(VOCABULARY))
        fixed = FixedSizes(dict(zip(VOCABULARY, order, strict=True)))
    store = SqlStore(store.database, planner, fixed)
    rng = random.Random(7)
    archives = corpus(rng, 600)
    assert await store.import_units(archives) == len(archives)
    for _ in range(80):
        # Up to six features: past bounds.MAX_FEATURE_LISTS the query reads one loose bound.
        spec = QuerySpec(
            domains=rng.sample(VOCABULARY, rng.choice([1, 1, 2, 2, 3, 7])),
            languages=rng.sample(LANGUAGES, rng.choice([0, 0, 1, 3])),
            frameworks=rng.sample(FRAMEWORKS, rng.choice([0, 1, 2])),
            pattern=rng.choice(PATTERNS),
            limit=rng.choice([1, 5, 20, 50]),
        )
        got = [unit.id for unit in await store.query(spec)]
        assert got == brute_force(archives, spec), spec
        # Hybrid ranking's candidates: the same rounds, reading ids alone (any sizes will do).
        ids = await store.database.read(
            lambda conn, spec=spec: planner.rows(conn, spec, {}, units=False)
        )
        assert [row.id for row in ids] == got, spec


async def test_query_fetches_only_the_rows_it_returns(store, monkeypatch):
    """On a corpus where hundreds of approved units share the query's domain, a limit-5
    query fetches at most 5 rows from the database per statement, and renders only those."""
    rng = random.Random(11)
    archives = corpus(rng, 1500)
    archives = [a for a in archives if "python" in a.item.unit.domains] + [
        a for a in archives[:300] if "python" not in a.item.unit.domains
    ]
    assert await store.import_units(archives) == len(archives)
    matching = sum(
        1
        for a in archives
        if a.item.status is ReviewStatus.APPROVED and "python" in a.item.unit.domains
    )
    assert matching > 500
    fetched: list[int] = []
    rows = driver_statements.Compiled.rows

    def counting_rows(self, found, *args):
        fetched.append(len(found))
        return rows(self, found, *args)

    await store.query(QuerySpec(domains=["python"]))  # reads the domain sizes (every 30 s)
    monkeypatch.setattr(driver_statements.Compiled, "rows", counting_rows)
    for spec in (
        QuerySpec(domains=["python"], languages=["go"], limit=5),
        QuerySpec(domains=["python", "api"], languages=["rust"], pattern="retry", limit=5),
    ):
        fetched.clear()
        units = await store.query(spec)
        assert [unit.id for unit in units] == brute_force(archives, spec)
        assert fetched and max(fetched) <= 5, fetched
        assert len(fetched) <= 4, fetched


@pytest.mark.parametrize("seed_size", [1, 64])
async def test_one_domain_without_context_is_one_statement(store, request, seed_size):
    """Ranked by the domain's seed alone: the seed's order is the score's order."""
    store = SqlStore(store.database, Planner(seed_per_domain=seed_size))
    archives = corpus(random.Random(13), 600)
    assert await store.import_units(archives) == len(archives)
    await store.query(QuerySpec(domains=["python"]))  # reads the domain sizes (every 30 s)
    statements: list[str] = []
    engine = store.database.read_engine
    engine = getattr(engine, "sync_engine", engine)

    def counting(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", counting)
    request.addfinalizer(lambda: event.remove(engine, "before_cursor_execute", counting))
    for domain in VOCABULARY:
        for limit in (1, 5, 50, 500):
            spec = QuerySpec(domains=[domain], limit=limit)
            statements.clear()
            got = [unit.id for unit in await store.query(spec)]
            assert got == brute_force(archives, spec), spec
            # One statement, and one more for the flags of any flagged unit it returns.
            assert len(statements) <= 2, (spec, len(statements))
