"""The cq ranking as SQL, and the bounds that let a query read only units that can make it.

score = confidence · (wd·|U∩D|/|U∪D| + wl·language + wf·framework + wp·pattern)

A unit with ``dc`` domains that shares ``h`` of the query's ``n`` domains has Jaccard
h / (dc + n - h), at most min(n, dc) / max(n, dc). A unit found only in the query's largest
domain shares exactly one domain (any unit in two query domains is also in a smaller one), so
its Jaccard is 1 / (dc + n - 1). Each bound turns "score >= T" into "confidence >= c(dc)" for
each domain count, a range on the ``(domain, domain_count, confidence)`` index.
"""

import math
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Float,
    Select,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    select,
    union_all,
)

from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus
from colloquy.store import tables as t
from colloquy.store.protocol import QuerySpec

MAX_DOMAINS_PER_UNIT = 16
# Loosens every bound a little, so that float rounding never drops a tie.
SLACK = 1e-9


def context_weight(spec: QuerySpec) -> float:
    """The most the language, framework and pattern terms can add to a unit's relevance."""
    return (
        scoring.LANGUAGE_WEIGHT * bool(spec.languages)
        + scoring.FRAMEWORK_WEIGHT * bool(spec.frameworks)
        + scoring.PATTERN_WEIGHT * bool(spec.pattern)
    )


def max_score(spec: QuerySpec) -> float:
    return scoring.CEILING_POINTS * (scoring.DOMAIN_WEIGHT + context_weight(spec))


def _any_tag(table: t.Table, column: str, values: list[str]) -> ColumnElement[bool]:
    if not values:
        return false()
    return exists().where(table.c.unit_id == t.units.c.id, table.c[column].in_(values))


def ranked(spec: QuerySpec, ids: list[str]) -> Select[Any]:
    """Those of the units ``ids`` that are approved and share a domain with the query, with
    their score, best first, ties by id descending."""
    ud = t.unit_domains.c
    hits = (
        select(ud.unit_id, func.count().label("hits"))
        .where(ud.domain.in_(spec.domains), ud.unit_id.in_(ids))
        .group_by(ud.unit_id)
        .subquery()
    )
    u = t.units.c
    union = u.domain_count + len(spec.domains) - hits.c.hits
    # One division of integers, so that equal scores are equal floats and ties fall to the id.
    context = literal(0)
    for weight, matched in (
        (scoring.LANGUAGE_PERCENT, _any_tag(t.unit_languages, "language", spec.languages)),
        (scoring.FRAMEWORK_PERCENT, _any_tag(t.unit_frameworks, "framework", spec.frameworks)),
        (scoring.PATTERN_PERCENT, u.pattern_key == spec.pattern if spec.pattern else false()),
    ):
        context = context + case((matched, weight), else_=0)
    numerator = u.confidence * (scoring.DOMAIN_PERCENT * hits.c.hits + context * union)
    score = (cast(numerator, Float) / (100 * union)).label("score")
    return (
        select(t.units, score)
        .join(hits, hits.c.unit_id == u.id)
        .where(u.status == ReviewStatus.APPROVED)
        .order_by(score.desc(), u.id.desc())
        .limit(spec.limit)
    )


def seed(domains: list[str], size: int) -> CompoundSelect:
    """Each domain's ``size`` best units for a one-domain query: where a first threshold
    comes from."""
    ud = t.unit_domains.c
    parts = []
    for domain in domains:
        best = (
            select(ud.unit_id)
            .where(ud.domain == domain, ud.rank.is_not(None))
            .order_by(ud.rank.desc(), ud.unit_id.desc())
            .limit(size)
            .subquery()
        )
        parts.append(select(best.c.unit_id))
    return union_all(*parts)


def candidates(spec: QuerySpec, threshold: float, largest: str) -> CompoundSelect | None:
    """Ids of every approved unit whose score can reach ``threshold`` (None: no unit can)."""
    ud = t.unit_domains.c
    n = len(spec.domains)
    extra = context_weight(spec)
    floor = threshold * (1 - SLACK)
    parts = []
    for domain in spec.domains:
        for dc in range(1, MAX_DOMAINS_PER_UNIT + 1):
            jaccard = 1 / (dc + n - 1) if domain == largest else min(n, dc) / max(n, dc)
            least = math.ceil(floor / (scoring.DOMAIN_WEIGHT * jaccard + extra))
            if least <= scoring.CEILING_POINTS:
                parts.append(
                    select(ud.unit_id).where(
                        ud.domain == domain, ud.domain_count == dc, ud.confidence >= least
                    )
                )
    return union_all(*parts) if parts else None
