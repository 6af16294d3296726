"""The cq ranking as SQL, and the bounds that let a query read only units that can make it.

score = confidence · (wd·|U∩D|/|U∪D| + wl·language + wf·framework + wp·pattern)

A unit with ``dc`` domains that shares ``h`` of the query's ``n`` domains has Jaccard
h / (dc + n - h), at most min(n, dc) / max(n, dc). A unit found only in the query's largest
domain shares exactly one domain (any unit in two query domains is also in a smaller one), so
its Jaccard is 1 / (dc + n - 1). Each bound turns "score >= T" into "confidence >= c(dc)" for
each domain count, a range on the ``(domain, domain_count, confidence)`` index.
"""

import functools
import math
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Float,
    Integer,
    Select,
    bindparam,
    case,
    cast,
    exists,
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


def _any_tag(table: t.Table, column: str, param: str) -> ColumnElement[bool]:
    return exists().where(
        table.c.unit_id == t.units.c.id, table.c[column].in_(bindparam(param, expanding=True))
    )


@functools.cache
def _ranked(has_languages: bool, has_frameworks: bool, has_pattern: bool) -> Select[Any]:
    """The ranking statement for one shape of query, built once (building costs more than
    running it); the values arrive as parameters."""
    ud = t.unit_domains.c
    hits = (
        select(ud.unit_id, func.count().label("hits"))
        .where(
            ud.domain.in_(bindparam("domains", expanding=True)),
            ud.unit_id.in_(bindparam("ids", expanding=True)),
        )
        .group_by(ud.unit_id)
        .subquery()
    )
    u = t.units.c
    union = u.domain_count + bindparam("n", type_=Integer) - hits.c.hits
    # One division of integers, so that equal scores are equal floats and ties fall to the id.
    context = literal(0)
    for weight, present, matched in (
        (
            scoring.LANGUAGE_PERCENT,
            has_languages,
            lambda: _any_tag(t.unit_languages, "language", "languages"),
        ),
        (
            scoring.FRAMEWORK_PERCENT,
            has_frameworks,
            lambda: _any_tag(t.unit_frameworks, "framework", "frameworks"),
        ),
        (scoring.PATTERN_PERCENT, has_pattern, lambda: u.pattern_key == bindparam("pattern")),
    ):
        if present:
            context = context + case((matched(), weight), else_=0)
    numerator = u.confidence * (scoring.DOMAIN_PERCENT * hits.c.hits + context * union)
    score = (cast(numerator, Float) / (100 * union)).label("score")
    return (
        select(t.units, score)
        .join(hits, hits.c.unit_id == u.id)
        .where(u.status == ReviewStatus.APPROVED)
        .order_by(score.desc(), u.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


def ranked(spec: QuerySpec, ids: list[str]) -> tuple[Select[Any], dict[str, Any]]:
    """Those of the units ``ids`` that are approved and share a domain with the query, with
    their score, best first, ties by id descending: the statement and its parameters."""
    stmt = _ranked(bool(spec.languages), bool(spec.frameworks), bool(spec.pattern))
    return stmt, {
        "domains": spec.domains,
        "ids": ids,
        "n": len(spec.domains),
        "languages": spec.languages,
        "frameworks": spec.frameworks,
        "pattern": spec.pattern,
        "limit": spec.limit,
    }


@functools.cache
def _seed(domains: int) -> CompoundSelect:
    ud = t.unit_domains.c
    parts = []
    for i in range(domains):
        best = (
            select(ud.unit_id)
            .where(ud.domain == bindparam(f"d{i}"), ud.rank.is_not(None))
            .order_by(ud.rank.desc(), ud.unit_id.desc())
            .limit(bindparam("size", type_=Integer))
            .subquery()
        )
        parts.append(select(best.c.unit_id))
    return union_all(*parts)


def seed(domains: list[str], size: int) -> tuple[CompoundSelect, dict[str, Any]]:
    """Each domain's ``size`` best units for a one-domain query: where a first threshold
    comes from."""
    return _seed(len(domains)), {"size": size} | {f"d{i}": d for i, d in enumerate(domains)}


@functools.cache
def _candidates(domains: int) -> CompoundSelect:
    """One index range per (query domain, domain count); each has its own least confidence."""
    ud = t.unit_domains.c
    return union_all(
        *(
            select(ud.unit_id).where(
                ud.domain == bindparam(f"d{i}"),
                ud.domain_count == dc,
                ud.confidence >= bindparam(f"c{i}_{dc}", type_=Integer),
            )
            for i in range(domains)
            for dc in range(1, MAX_DOMAINS_PER_UNIT + 1)
        )
    )


def candidates(
    spec: QuerySpec, threshold: float, largest: str
) -> tuple[CompoundSelect, dict[str, Any]] | None:
    """Ids of every approved unit whose score can reach ``threshold`` (None: no unit can)."""
    n = len(spec.domains)
    extra = context_weight(spec)
    floor = threshold * (1 - SLACK)
    params: dict[str, Any] = {}
    reachable = False
    for i, domain in enumerate(spec.domains):
        params[f"d{i}"] = domain
        for dc in range(1, MAX_DOMAINS_PER_UNIT + 1):
            jaccard = 1 / (dc + n - 1) if domain == largest else min(n, dc) / max(n, dc)
            least = math.ceil(floor / (scoring.DOMAIN_WEIGHT * jaccard + extra))
            reachable = reachable or least <= scoring.CEILING_POINTS
            # Past the ceiling the range is empty: one index probe that finds nothing.
            params[f"c{i}_{dc}"] = min(least, scoring.CEILING_POINTS + 1)
    return (_candidates(n), params) if reachable else None
