"""How the knowledge service hands hybrid answers to a re-ranker (semantic re-ranking), on
both backends: only queries with free text, over the best ``RERANK_CANDIDATES`` with their
scores, and in the ranker's order when the re-ranker fails. The re-ranker here is a plain
function, so that the order it asks for is known; the real model's is measured by
``make bench-retrieval`` and tested in ``test_embedding.py``."""

from colloquy.domain.models import ReviewStatus
from colloquy.services.knowledge import RERANK_CANDIDATES, KnowledgeService
from colloquy.store.protocol import Ranking
from tests.store.factories import add_unit


class Reversing:
    """Asks for the candidates in reverse, and remembers what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, float]]] = []

    async def __call__(self, text: str, scored: dict[str, float]) -> list[str]:
        self.calls.append((text, scored))
        return list(reversed(scored))


async def broken(_text: str, _scored: dict[str, float]) -> list[str]:
    raise RuntimeError("the model is gone")


async def seed(store, count: int) -> list[str]:
    units = [
        await add_unit(
            store, ReviewStatus.APPROVED, domains=["timeout"], summary=f"timeout pitfall {n}"
        )
        for n in range(count)
    ]
    return [u.id for u in units]


async def test_free_text_queries_are_reranked_over_the_best_candidates(store):
    await seed(store, RERANK_CANDIDATES + 5)
    plain = KnowledgeService(store, Ranking.HYBRID)
    rerank = Reversing()
    service = KnowledgeService(store, Ranking.HYBRID, rerank=rerank)

    ranked = await plain.query(["timeout"], [], [], "", RERANK_CANDIDATES, q="pitfall")
    answer = await service.query(["Timeout"], ["python3.11"], [], "", 5, q="pitfall")

    [(text, scored)] = rerank.calls
    assert text == "pitfall timeout python"  # q, then the tags' words
    assert len(scored) == RERANK_CANDIDATES
    assert list(scored) == [u.id for u in ranked]  # the ranker's best, best first
    assert [u.id for u in answer] == [u.id for u in reversed(ranked)][:5]


async def test_tag_queries_and_cq_ranking_are_not_reranked(store):
    await seed(store, 3)
    rerank = Reversing()
    hybrid = KnowledgeService(store, Ranking.HYBRID, rerank=rerank)
    cq = KnowledgeService(store, Ranking.CQ, rerank=rerank)
    assert len(await hybrid.query(["timeout"], [], [], "", 5)) == 3
    assert len(await cq.query(["timeout"], [], [], "", 5, q="pitfall")) == 3
    assert rerank.calls == []


async def test_a_failing_reranker_leaves_the_ranker_s_order(store):
    await seed(store, 8)
    plain = KnowledgeService(store, Ranking.HYBRID)
    service = KnowledgeService(store, Ranking.HYBRID, rerank=broken)
    expected = await plain.query(["timeout"], [], [], "", 5, q="pitfall")
    answer = await service.query(["timeout"], [], [], "", 5, q="pitfall")
    assert [u.id for u in answer] == [u.id for u in expected]
