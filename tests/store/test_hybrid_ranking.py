"""Hybrid ranking (store/sql/ranking/hybrid.py) on both backends: tag words that survive
wording and aliases, full-text relevance that tells flood-tag units apart, free text ``q``
alone, hostile text as plain words, and cq ranking left exactly as it was."""

import pytest

from colloquy.domain.models import ReviewStatus
from colloquy.store.protocol import QuerySpec, Ranking
from colloquy.store.sql import SqlStore
from colloquy.store.sql.ranking.hybrid import HybridRanker
from colloquy.store.sql.ranking.text_candidates import searchable_terms, text_candidates
from colloquy.store.sql.ranking.word_counts import WordCounts
from tests.store.factories import add_unit

APPROVED = ReviewStatus.APPROVED


def hybrid(domains: list[str] | None = None, **fields) -> QuerySpec:
    return QuerySpec(domains=domains or [], ranking=Ranking.HYBRID, **fields)


async def ids(store, spec: QuerySpec) -> list[str]:
    return [unit.id for unit in await store.query(spec)]


async def test_alias_finds_the_canonical_tag(store):
    pg = await add_unit(store, APPROVED, domains=["postgresql", "index"], summary="Index scan")
    await add_unit(store, APPROVED, domains=["mysql", "index"], summary="Other index")
    found = await ids(store, hybrid(["postgres"]))
    assert found == [pg.id]
    # cq compares tags exactly: the alias finds nothing there
    assert await ids(store, QuerySpec(domains=["postgres"])) == []


async def test_separators_and_aliases_split_a_tag_into_words(store):
    probes = await add_unit(store, APPROVED, domains=["k8s-probes"], summary="Liveness restarts")
    await add_unit(store, APPROVED, domains=["kubernetes", "ingress"], summary="Ingress paths")
    found = await ids(store, hybrid(["kubernetes", "probe"]))
    assert found[0] == probes.id
    assert len(found) == 2


async def test_plurals_and_versions_match(store):
    timeouts = await add_unit(store, APPROVED, domains=["timeouts"], summary="Slow upstream")
    versioned = await add_unit(store, APPROVED, domains=["python3.11"], summary="Interpreter")
    assert await ids(store, hybrid(["timeout"])) == [timeouts.id]
    assert await ids(store, hybrid(["python"])) == [versioned.id]
    both = await ids(store, hybrid(["python3.12", "timeouts"]))
    assert set(both) == {timeouts.id, versioned.id}


async def test_text_decides_the_order_among_flood_tags(store):
    """Every unit shares the flood tags; the one whose text holds the rare query word wins,
    where cq ranks them all alike (by id)."""
    flood = [
        await add_unit(store, APPROVED, domains=["python", "api"], summary=f"General note {n}")
        for n in range(6)
    ]
    gunicorn = await add_unit(
        store, APPROVED, domains=["python", "api"], summary="Gunicorn worker timeout kills"
    )
    flood.append(gunicorn)
    flood.append(
        await add_unit(store, APPROVED, domains=["python", "api"], summary="Another plain note")
    )
    spec = hybrid(["python", "api"], q="gunicorn worker timeout")
    assert (await ids(store, spec))[0] == gunicorn.id
    # tags alone cannot tell them apart; the tag words do when a tag names the topic
    tagged = await ids(store, hybrid(["python", "api", "gunicorn"]))
    assert tagged[0] == gunicorn.id
    cq = await ids(store, QuerySpec(domains=["python", "api"], limit=8))
    assert cq == sorted((u.id for u in flood), reverse=True)


async def test_q_alone(store):
    hit = await add_unit(store, APPROVED, domains=["db"], summary="Deadlock between two writers")
    await add_unit(store, APPROVED, domains=["db"], summary="Vacuum settings")
    assert await ids(store, hybrid(q="why do my writers deadlock?")) == [hit.id]


async def test_only_approved_units_and_the_limit(store):
    await add_unit(store, ReviewStatus.PENDING, domains=["cache"], summary="Cache stampede")
    await add_unit(store, ReviewStatus.REJECTED, domains=["cache"], summary="Cache stampede")
    approved = [
        await add_unit(store, APPROVED, domains=["cache"], summary=f"Cache stampede {n}")
        for n in range(4)
    ]
    found = await ids(store, hybrid(["cache"], q="stampede", limit=3))
    assert len(found) == 3
    assert set(found) <= {u.id for u in approved}


async def test_better_matches_of_other_statuses_leave_room_for_approved_ones(store):
    """The text candidates are the best ``text_limit`` approved matches, however many better
    matches other statuses hold (the status is checked before the limit, not after)."""
    for status in (ReviewStatus.PENDING, ReviewStatus.REJECTED) * 2:
        await add_unit(store, status, domains=["x"], summary="Stampede stampede stampede")
    approved = await add_unit(store, APPROVED, domains=["y"], summary="Cache stampede notes")
    narrow = SqlStore(store.database, hybrid=HybridRanker(text_limit=2))
    assert await ids(narrow, hybrid(q="stampede")) == [approved.id]


async def test_shared_domains_languages_and_frameworks_order_the_candidates(store):
    """The tag part counts the query's domains, languages and frameworks that a unit holds."""
    both = await add_unit(
        store, APPROVED, domains=["db", "cache"], languages=["python"], frameworks=["django"]
    )
    language = await add_unit(store, APPROVED, domains=["db", "cache"], languages=["python"])
    framework = await add_unit(store, APPROVED, domains=["db", "cache"], frameworks=["django"])
    one_domain = await add_unit(store, APPROVED, domains=["db", "queue"], languages=["python"])
    neither = await add_unit(
        store, APPROVED, domains=["db", "cache"], languages=["go"], frameworks=["gin"]
    )
    spec = hybrid(["db", "cache"], languages=["python"], frameworks=["django"], limit=10)
    found = await ids(store, spec)
    assert found[0] == both.id
    assert set(found[1:3]) == {language.id, framework.id}
    assert found[3:] == [neither.id, one_domain.id]  # Jaccard 1 and no context first


@pytest.mark.parametrize(
    "q",
    [
        '"unbalanced quote',
        "NEAR(deadlock writer) * : & ! OR AND NOT ^ ' -- ;",
        "deadlock:writer AND (x OR y)",
        "!!! *** ::: &&& \"\"\" '''",
        "deadlock " * 125,
        "",
    ],
    ids=["quote", "operators", "column-filter", "punctuation", "1000-chars", "empty"],
)
async def test_hostile_text_is_plain_words(store, q):
    hit = await add_unit(store, APPROVED, domains=["db"], summary="Deadlock between writers")
    found = await ids(store, hybrid(["db"], q=q))
    assert found == [hit.id]  # found by its tag whatever the text, and never an error
    if "deadlock" in q.lower():
        assert await ids(store, hybrid(q=q)) == [hit.id]
    elif not any(ch.isalnum() for ch in q):
        assert await ids(store, hybrid(q=q)) == []


async def test_cq_ranking_ignores_q_and_keeps_its_order(store):
    a = await add_unit(store, APPROVED, domains=["web"], summary="Nothing about it")
    b = await add_unit(store, APPROVED, domains=["web", "api"], summary="Deadlock deadlock")
    spec = QuerySpec(domains=["web"], q="deadlock")
    assert await ids(store, spec) == [a.id, b.id]  # Jaccard 1 before 1/2, text ignored
    assert await ids(store, hybrid(["web"], q="deadlock")) == [b.id, a.id]


async def test_flood_words_leave_the_match_and_count_through_the_tags(store):
    """Words held by ``word_cap`` units or more are not matched as text (bounded reads);
    units tagged with a variant of such a word are still found, by the planner."""
    ranker = HybridRanker(word_cap=3, posting_budget=10)
    narrow = SqlStore(store.database, hybrid=ranker)
    tagged = [
        await add_unit(store, APPROVED, domains=["postgresql"], summary=f"Note {n}")
        for n in range(4)
    ]
    rare = await add_unit(store, APPROVED, domains=["db"], summary="Postgresql vacuum wraparound")
    found = await ids(narrow, hybrid(["postgres"], limit=10))
    assert set(found) == {u.id for u in tagged}  # by the tag variant, not by text
    assert rare.id in await ids(store, hybrid(["postgres"], limit=10))  # text, under no cap
    # a rare word is still matched as text
    assert await ids(narrow, hybrid(q="wraparound")) == [rare.id]


async def test_text_candidates_of_given_statuses(store):
    """The reusable text half: words to the best matching units of the statuses asked for."""
    pending = await add_unit(store, ReviewStatus.PENDING, summary="Celery tasks lost on restart")
    approved = await add_unit(store, APPROVED, summary="Celery retries and acks late")
    await add_unit(store, APPROVED, summary="Unrelated note")
    db = store.database
    search = db.dialect.text_search
    counts = WordCounts(search, cap=1_000)

    def check(conn) -> None:
        groups = [frozenset({"celery"}), frozenset({"restart", "restarts"})]
        terms = searchable_terms(conn, search, counts, groups, posting_budget=100)
        assert terms.counts == (1, 2)  # rarest first: "restart" is in one unit, celery two
        both = text_candidates(
            conn, search, counts, terms, [ReviewStatus.PENDING, APPROVED], limit=10
        )
        assert [unit_id for unit_id, _ in both] == [pending.id, approved.id]
        assert both[0][1] > both[1][1] > 0
        only = text_candidates(conn, search, counts, terms, [APPROVED], limit=10)
        assert [unit_id for unit_id, _ in only] == [approved.id]
        nothing = searchable_terms(conn, search, counts, [frozenset({"***"})], 100)
        assert text_candidates(conn, search, counts, nothing, [APPROVED], 10) == []

    await db.read(check)


async def test_text_relevance_adds_up_over_word_groups(store):
    """A match's text relevance is the sum of its word groups' (BM25 on SQLite; IDF times
    ``ts_rank`` on PostgreSQL, where a long unit's vector is stored compressed, or out of line,
    and read once for all groups): the same whether the groups are matched together or apart."""
    filler = " ".join(f"filler{n} token{n * 7919 % 10007}" for n in range(600))
    long = await add_unit(
        store, APPROVED, summary="Kafka consumer offset reset", detail=f"{filler} rebalance"
    )
    short = await add_unit(store, APPROVED, summary="Kafka rebalance on deploy")
    await add_unit(store, APPROVED, summary="Unrelated note")
    db = store.database
    search = db.dialect.text_search
    counts = WordCounts(search, cap=1_000)
    words = ("kafka", "offset", "rebalance")

    def relevance(conn, group_words) -> dict[str, float]:
        groups = [frozenset({word}) for word in group_words]
        terms = searchable_terms(conn, search, counts, groups, posting_budget=100)
        return dict(text_candidates(conn, search, counts, terms, [APPROVED], limit=10))

    def check(conn) -> None:
        together = relevance(conn, words)
        apart = [relevance(conn, [word]) for word in words]
        assert set(together) == {long.id, short.id}
        for unit in (long, short):
            parts = [found[unit.id] for found in apart if unit.id in found]
            assert len(parts) == (3 if unit is long else 2)
            assert together[unit.id] == pytest.approx(sum(parts), rel=1e-9)

    await db.read(check)


async def test_past_the_posting_budget_the_rarest_words_still_rank_first(store):
    """Once the rarer groups spend ``posting_budget``, the commoner ones are left out of the
    match: the units that hold the rare words are still found, best first."""
    common = [await add_unit(store, APPROVED, summary=f"Retry storms note {n}") for n in range(4)]
    rare = await add_unit(store, APPROVED, summary="Retry with jitter and backoff")
    narrow = SqlStore(store.database, hybrid=HybridRanker(posting_budget=3))
    spec = hybrid(q="retry jitter", limit=10)
    assert await ids(narrow, spec) == [rare.id]  # "retry" is in 5 units: past the budget
    wide = await ids(store, spec)
    assert wide[0] == rare.id
    assert set(wide) == {rare.id, *(unit.id for unit in common)}
