"""The agents' data plane: propose, query, confirm, flag and stats."""

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import cq_schema

from colloquy.clock import now
from colloquy.domain import bounds, scoring
from colloquy.domain.models import Context, FlagReason, Insight, KnowledgeUnit
from colloquy.domain.normalize import new_unit_id, normalize_pattern, normalize_tags
from colloquy.domain.tags import tag_words
from colloquy.services.errors import InvalidDomain, InvalidInput, UnitNotFound, bounded
from colloquy.services.throttle import allowed
from colloquy.services.views import KnowledgeStatsView, confidence_buckets
from colloquy.store.protocol import Allowance, FlagInput, NewUnit, QuerySpec, Ranking, Store

log = logging.getLogger(__name__)

MAX_QUERY_LIMIT = 50
# Candidates of a hybrid answer that a re-ranker re-orders (its best ``limit`` are answered).
RERANK_CANDIDATES = 20

Rerank = Callable[[str, dict[str, float]], Awaitable[list[str]]]
"""Re-orders a ranked answer by meaning (``colloquy[semantic]``): given the query's text and
the candidates' ids with their scores, best first, it returns the ids in their new order."""
# Longest free text ``q`` a query may carry: an agent's task or error message.
MAX_QUERY_TEXT = 1_000
MAX_EXTENSIONS = 20
EXTENSION_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*:\S+$")


@dataclass(frozen=True)
class Proposal:
    domains: list[str]
    insight: Insight
    context: Context
    extensions: dict[str, Any] | None = None


def validate_extensions(extensions: dict[str, Any] | None) -> dict[str, Any] | None:
    """The extensions to store: checked against every bound, as a copy of what was checked
    (what is stored is what was checked, so rendering it cannot fail)."""
    if extensions is None:
        return None
    bad = sorted(key for key in extensions if not EXTENSION_KEY.match(key))
    if bad:
        raise InvalidInput(f"extension keys must match namespace:key format, got: {bad}")
    if len(extensions) > MAX_EXTENSIONS:
        raise InvalidInput(
            f"extensions must have at most {MAX_EXTENSIONS} keys, got {len(extensions)}"
        )
    return bounds.canonical_extensions(extensions)


def normalized_domains(domains: list[str]) -> list[str]:
    """Domains as stored and matched; the length limit holds for the lower-cased form."""
    return normalize_tags(domains, cq_schema.DOMAIN_MAX_LENGTH, "domains")


class KnowledgeService:
    def __init__(
        self,
        store: Store,
        ranking: Ranking = Ranking.HYBRID,
        stored: Callable[[KnowledgeUnit], None] | None = None,
        rerank: Rerank | None = None,
    ) -> None:
        """``ranking``: how queries are ranked (``CQ_RANKING``); ``stored`` is told of each
        unit once it is stored (and must not wait); ``rerank`` re-orders hybrid answers."""
        self._store = store
        self.ranking = ranking
        self._stored = stored
        self._rerank = rerank  # only free text is re-ranked, and cq ranking drops ``q``

    def takes_text(self) -> bool:
        """Whether a query's free text ``q`` counts (cq ranking ignores it)."""
        return self.ranking is Ranking.HYBRID

    async def propose(
        self, proposal: Proposal, proposer: str, allowance: Allowance | None = None
    ) -> KnowledgeUnit:
        """Spends ``allowance`` (``Throttled`` when it is spent) once the proposal is valid."""
        insight, context = proposal.insight, proposal.context
        with bounded():
            domains = normalized_domains(proposal.domains)
            bounds.check_texts([insight.model_dump(), context.model_dump()], "proposal")
            extensions = validate_extensions(proposal.extensions)
        if not domains:
            raise InvalidDomain()
        unit = NewUnit(
            id=new_unit_id(),
            domains=domains,
            insight=insight,
            context=context,
            extensions=extensions,
            created_by=proposer,
            created_at=now(),
        )
        with allowed(allowance):
            stored = await self._store.insert_unit(unit, allowance)
        if self._stored is not None:
            self._stored(stored)
        return stored

    async def query(
        self,
        domains: list[str],
        languages: list[str],
        frameworks: list[str],
        pattern: str,
        limit: int,
        q: str = "",
    ) -> list[KnowledgeUnit]:
        """The best approved units for the tags and, in hybrid ranking, the free text ``q``
        (at most ``MAX_QUERY_TEXT`` characters; ignored by cq ranking)."""
        if len(q) > MAX_QUERY_TEXT:
            raise InvalidInput(f"q must be at most {MAX_QUERY_TEXT} characters")
        q = q.strip() if self.takes_text() else ""
        with bounded():
            normalized = normalized_domains(domains)
        if not (normalized or q):
            return []
        spec = QuerySpec(
            domains=normalized,
            languages=list(dict.fromkeys(languages)),
            frameworks=list(dict.fromkeys(frameworks)),
            pattern=normalize_pattern(pattern),
            limit=min(limit, MAX_QUERY_LIMIT),
            q=q,
            ranking=self.ranking,
        )
        # Only free text is re-ranked by meaning: on tags alone it gained within noise on the
        # labelled set (README "Semantic re-ranking") and could overturn an exact tag match.
        if self._rerank is None or not spec.q:
            return await self._store.query(spec)
        return await self._reranked(spec, self._rerank)

    async def _reranked(self, spec: QuerySpec, rerank: Rerank) -> list[KnowledgeUnit]:
        """The best ``spec.limit`` of a wider hybrid answer, re-ordered by meaning; in the
        ranker's order if the re-ranker fails (it is optional: it must not fail a query)."""
        ranked = await self._store.ranked(replace(spec, limit=max(spec.limit, RERANK_CANDIDATES)))
        units = {r.unit.id: r.unit for r in ranked}
        tags = (*spec.domains, *spec.languages, *spec.frameworks)
        text = " ".join([spec.q, *(word for tag in tags for word in tag_words(tag))])
        try:
            order = await rerank(text, {r.unit.id: r.score for r in ranked})
        except Exception:
            log.exception("semantic re-ranking failed; answering in the ranker's order")
            order = list(units)
        return [units[unit_id] for unit_id in order[: spec.limit]]

    async def confirm(
        self, unit_id: str, actor: str, allowance: Allowance | None = None
    ) -> KnowledgeUnit:
        """Spends ``allowance`` (``Throttled`` when it is spent), even for an unknown id."""
        with allowed(allowance):
            unit = await self._store.confirm(unit_id, actor, now(), allowance)
        if unit is None:
            raise UnitNotFound()
        return unit

    async def flag(
        self,
        unit_id: str,
        reason: FlagReason,
        actor: str,
        detail: str | None = None,
        duplicate_of: str | None = None,
        allowance: Allowance | None = None,
    ) -> KnowledgeUnit:
        """As ``confirm``."""
        flag = FlagInput(reason=reason, detail=detail, duplicate_of=duplicate_of)
        with allowed(allowance):
            unit = await self._store.flag(unit_id, flag, actor, now(), allowance)
        if unit is None:
            raise UnitNotFound()
        return unit

    async def stats(self) -> KnowledgeStatsView:
        """Counts over the commons, all four confidence buckets always present."""
        stats = await self._store.stats([edge for _, edge in scoring.KNOWLEDGE_BUCKETS])
        return KnowledgeStatsView(
            total_count=stats.total_count,
            tier_counts=stats.tier_counts,
            domain_counts=stats.domain_counts,
            confidence=confidence_buckets(scoring.KNOWLEDGE_BUCKETS, stats.confidence_points),
        )
