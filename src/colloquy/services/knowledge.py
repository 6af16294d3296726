"""The agents' data plane: propose, query, confirm, flag and stats."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cq_schema

from colloquy.clock import now
from colloquy.domain import bounds, scoring
from colloquy.domain.models import Context, FlagReason, Insight, KnowledgeUnit
from colloquy.domain.normalize import new_unit_id, normalize_pattern, normalize_tags
from colloquy.services.errors import InvalidDomain, InvalidInput, UnitNotFound, bounded
from colloquy.services.views import KnowledgeStatsView, confidence_buckets
from colloquy.store.protocol import FlagInput, NewUnit, QuerySpec, Store

MAX_QUERY_LIMIT = 50
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
    def __init__(self, store: Store, stored: Callable[[KnowledgeUnit], None] | None = None) -> None:
        """``stored`` is told of each unit once it is stored (and must not wait)."""
        self._store = store
        self._stored = stored

    async def propose(self, proposal: Proposal, proposer: str) -> KnowledgeUnit:
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
        stored = await self._store.insert_unit(unit)
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
    ) -> list[KnowledgeUnit]:
        with bounded():
            normalized = normalized_domains(domains)
        if not normalized:
            return []
        spec = QuerySpec(
            domains=normalized,
            languages=list(dict.fromkeys(languages)),
            frameworks=list(dict.fromkeys(frameworks)),
            pattern=normalize_pattern(pattern),
            limit=min(limit, MAX_QUERY_LIMIT),
        )
        return await self._store.query(spec)

    async def confirm(self, unit_id: str, actor: str) -> KnowledgeUnit:
        unit = await self._store.confirm(unit_id, actor, now())
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
    ) -> KnowledgeUnit:
        flag = FlagInput(reason=reason, detail=detail, duplicate_of=duplicate_of)
        unit = await self._store.flag(unit_id, flag, actor, now())
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
