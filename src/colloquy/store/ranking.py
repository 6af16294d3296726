"""The cq ranking as SQL, and the bounds that let a query read only units that can make it.

score = confidence · (wd·|U∩D|/|U∪D| + wl·language + wf·framework + wp·pattern)

Every ``unit_domains`` row carries what the score needs of its unit (domain count, confidence,
and its domains, languages, frameworks and pattern as searchable text), so a statement scores
the rows it reads without touching any other table, and a whole round (read candidates, score,
keep the best ``limit``) is one statement.

A unit with ``dc`` domains that shares ``h`` of the query's ``n`` domains has Jaccard
h / (dc + n - h), which grows with ``h``. Put the query's domains in any order: a unit has to be
found only in the rows of the first query domain it is in, where it shares at most the domains
from there on. So the i-th domain (from 0) needs a bound for at most n - i shared domains: the
first the general one, the last 1 / (dc + n - 1). Any order is correct; putting the largest
domains last gives them the tightest bounds, which is what makes the order worth choosing.
Each bound turns "score >= T" into "confidence >= c(dc)" for each domain count, a range on the
``(domain, feature, domain_count, confidence)`` index.

The language, framework and pattern terms would loosen that bound for every unit, although few
units match them. So each unit also has a row per (domain, feature it has): a unit that matches
none of the query's features is bounded by its domain term alone, on the plain rows
(feature ''), and one that matches any is found among that feature's rows, bounded by the
domain term plus every feature term.
"""

import functools
import json
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    literal,
    or_,
    select,
    union_all,
)

from colloquy.domain import scoring
from colloquy.store import tables as t
from colloquy.store.dialect import Position
from colloquy.store.protocol import QuerySpec

MAX_DOMAINS_PER_UNIT = 16
# Units with this many domains or more share one range per list (few units have that many, and
# fewer ranges make a statement that is quicker to build, compile and run).
TAIL_COUNT = 6
# Loosens every bound a little, so that float rounding never drops a tie.
SLACK = 1e-9
# Queries with more language, framework and pattern values than this read one loose bound
# instead of a list per feature.
MAX_FEATURE_LISTS = 4
# Statements kept per query shape (numbers of domains, languages and frameworks, pattern or not).
SHAPES_KEPT = 512


def tag_set(values: Iterable[str]) -> str:
    """A list of tags as text in which ``tag_needle(v)`` occurs exactly when ``v`` is listed.

    Each value is JSON-encoded between commas: inside a JSON string every quote is escaped, so
    a comma followed by a bare quote only ever starts an element.
    """
    return "," + "".join(json.dumps(value, ensure_ascii=False) + "," for value in values)


def tag_needle(value: str) -> str:
    return "," + json.dumps(value, ensure_ascii=False) + ","


def feature_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def unit_features(
    languages: Sequence[str], frameworks: Sequence[str], pattern_key: str
) -> list[str]:
    """The features a unit has its own ``unit_domains`` rows for, besides the plain one ('')."""
    keys = [feature_key("language", v) for v in dict.fromkeys(languages)]
    keys += [feature_key("framework", v) for v in dict.fromkeys(frameworks)]
    return keys + ([feature_key("pattern", pattern_key)] if pattern_key else [])


def query_features(spec: QuerySpec) -> list[str]:
    """The feature lists a query reads; none when there are too many to be worth it."""
    keys = unit_features(spec.languages, spec.frameworks, spec.pattern)
    return keys if len(keys) <= MAX_FEATURE_LISTS else []


def context_weight(spec: QuerySpec) -> float:
    """The most the language, framework and pattern terms can add to a unit's relevance."""
    return (
        scoring.LANGUAGE_WEIGHT * bool(spec.languages)
        + scoring.FRAMEWORK_WEIGHT * bool(spec.frameworks)
        + scoring.PATTERN_WEIGHT * bool(spec.pattern)
    )


def max_score(spec: QuerySpec) -> float:
    return scoring.CEILING_POINTS * (scoring.DOMAIN_WEIGHT + context_weight(spec))


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _shape(
    domains: int, languages: int, frameworks: int, pattern: bool, features: int
) -> tuple[Select[Any], Select[Any]]:
    """The first round's statement (with the seed) and the later rounds' for one shape of
    query, built once (building costs more than running them); the values arrive as
    parameters."""
    score = functools.partial(_best, domains, languages, frameworks, pattern)
    ranges = [_range(i, k, dc) for i in range(domains) for k in (None, *range(features))
              for dc in _COUNTS]  # fmt: skip
    seed = [select(_seed_part(i)) for i in range(domains)]
    return score(union_all(*seed, *ranges).subquery()), score(union_all(*ranges).subquery())


@functools.cache
def _by_rank() -> Select[Any]:
    """A one-domain query without context, answered from the domain's seed alone."""
    return _best(1, 0, 0, False, select(_seed_part(0)).subquery())


_COUNTS = range(1, TAIL_COUNT + 1)
_PAYLOAD = ("unit_id", "domain_count", "confidence", "domain_set", "language_set",
            "framework_set", "pattern_key")  # fmt: skip


def _payload() -> list[ColumnElement[Any]]:
    return [t.unit_domains.c[name] for name in _PAYLOAD]


def _seed_part(i: int) -> Subquery:
    """Domain ``i``'s best units for a one-domain query, by ``rank``."""
    ud = t.unit_domains.c
    return (
        select(*_payload())
        .where(ud.domain == bindparam(f"d{i}"), ud.feature == "", ud.rank.is_not(None))
        .order_by(ud.rank.desc(), ud.unit_id.desc())
        .limit(bindparam("size", type_=Integer))
        .subquery()
    )


def _range(i: int, k: int | None, dc: int) -> Select[Any]:
    """Domain ``i``'s units with ``dc`` domains (``TAIL_COUNT`` or more for the last range) and
    feature ``k`` (or the plain rows), in the round's band of confidence for them."""
    ud = t.unit_domains.c
    name = _range_name(i, k, dc)
    return select(*_payload()).where(
        ud.domain == bindparam(f"d{i}"),
        ud.feature == ("" if k is None else bindparam(f"x{k}")),
        ud.domain_count >= dc if dc == TAIL_COUNT else ud.domain_count == dc,
        ud.confidence >= bindparam(f"c{name}", type_=Integer),
        ud.confidence < bindparam(f"u{name}", type_=Integer),
    )


def _range_name(i: int, k: int | None, dc: int) -> str:
    """A range's name in its parameters: ``c<name>`` holds its least confidence for the round,
    ``u<name>`` the least of the rounds before (what they have read already)."""
    return f"{i}_{dc}" if k is None else f"{i}x{k}_{dc}"


def _listed(column: ColumnElement[str], prefix: str, count: int) -> ColumnElement[bool]:
    return or_(*(Position(column, bindparam(f"{prefix}{j}")) > 0 for j in range(count)))


def _best(
    domains: int, languages: int, frameworks: int, pattern: bool, rows: Subquery
) -> Select[Any]:
    """The best ``limit`` units among ``rows`` (a unit may come once per query domain), with
    their score, best first and ties by id descending; joined to ``units`` to be rendered."""
    r = rows.c
    hits = functools.reduce(
        operator.add,
        (case((Position(r.domain_set, bindparam(f"n{i}")) > 0, 1), else_=0)
         for i in range(domains)),
    )  # fmt: skip
    context: ColumnElement[int] = literal(0, Integer)
    for weight, present, matched in (
        (scoring.LANGUAGE_PERCENT, languages, lambda: _listed(r.language_set, "l", languages)),
        (scoring.FRAMEWORK_PERCENT, frameworks, lambda: _listed(r.framework_set, "f", frameworks)),
        (scoring.PATTERN_PERCENT, pattern, lambda: r.pattern_key == bindparam("pattern")),
    ):
        if present:
            context = context + case((matched(), weight), else_=0)
    counted = select(
        r.unit_id, r.confidence, hits.label("hits"), context.label("context"),
        (r.domain_count + domains - hits).label("union"),
    ).distinct().subquery()  # fmt: skip
    c = counted.c
    # One division of integers, so that equal scores are equal floats and ties fall to the id.
    numerator = c.confidence * (scoring.DOMAIN_PERCENT * c.hits + c.context * c.union)
    score = (cast(numerator, Float) / (100 * c.union)).label("score")
    best = (
        select(c.unit_id, score)
        .order_by(score.desc(), c.unit_id.desc())
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    return (
        select(t.units, best.c.score)
        .join(best, best.c.unit_id == t.units.c.id)
        .order_by(best.c.score.desc(), t.units.c.id.desc())
    )


def _values(spec: QuerySpec) -> dict[str, Any]:
    """The parameters every statement of a query shares."""
    values: dict[str, Any] = {"limit": spec.limit, "pattern": spec.pattern}
    for i, domain in enumerate(spec.domains):
        values[f"d{i}"] = domain
        values[f"n{i}"] = tag_needle(domain)
    for j, language in enumerate(spec.languages):
        values[f"l{j}"] = tag_needle(language)
    for j, framework in enumerate(spec.frameworks):
        values[f"f{j}"] = tag_needle(framework)
    return values


def _statements(spec: QuerySpec) -> tuple[Select[Any], Select[Any]]:
    return _shape(
        len(spec.domains),
        len(spec.languages),
        len(spec.frameworks),
        bool(spec.pattern),
        len(query_features(spec)),
    )


def hit_allowance(domains: Sequence[str], sizes: Mapping[str, int]) -> list[int]:
    """For each query domain, the most query domains a unit must be bounded for in its rows:
    the smallest domain (by ``sizes``, unknown as 0) takes the general bound, the largest the
    one-domain bound. ``sizes`` may be stale or wrong: that costs speed, never correctness."""
    order = sorted(range(len(domains)), key=lambda i: (sizes.get(domains[i], 0), domains[i]))
    allowance = [0] * len(domains)
    for position, i in enumerate(order):
        allowance[i] = len(domains) - position
    return allowance


class Rounds:
    """The statements of one ranked query's rounds, each for a lower score threshold.

    Each range's least confidence only comes down from round to round, so each round reads
    only the band of each range that the rounds before it have not: no row is read twice.
    A round's answer is then the best of its own rows and the answers before it (``merged``).
    """

    def __init__(self, spec: QuerySpec, allowance: Sequence[int]) -> None:
        """``allowance`` is ``hit_allowance`` for the query's domains."""
        self._spec = spec
        self._allowance = allowance
        features = query_features(spec)
        self._fixed = _values(spec) | {f"x{k}": key for k, key in enumerate(features)}
        # One domain and no context: a unit's score is the domain weight times its rank, so
        # the seed (a domain's best units by rank, ties by id) is the answer, in order, and no
        # range statements are needed.
        exact = len(spec.domains) == 1 and not context_weight(spec)
        self._statements = None if exact else _statements(spec)
        self._read: dict[str, int] = {}

    @property
    def exact(self) -> bool:
        """The first round's answer is final."""
        return self._statements is None

    def first(self, size: int, threshold: float) -> tuple[Select[Any], dict[str, Any]]:
        """The best ``limit`` among each query domain's ``size`` best one-domain units (the
        seed) and every unit whose score can reach ``threshold``. The seed makes the answer
        one that the real one is at least as good as; when it holds fewer than ``limit``
        units, it held every unit of the query's domains. When ``exact``, the seed alone
        is read, and its answer is final."""
        if self._statements is None:
            return _by_rank(), self._fixed | {"size": size}
        least = _least_confidences(self._spec, threshold, self._allowance)
        unread = dict.fromkeys(least, scoring.CEILING_POINTS + 1)
        return self._statements[0], self._params(least, unread) | {"size": size}

    def next(self, threshold: float) -> tuple[Select[Any], dict[str, Any]] | None:
        """The best ``limit`` of the units that can reach ``threshold`` and that no round
        before has read (None: there are none to read)."""
        if self._statements is None:
            return None
        least = _least_confidences(self._spec, threshold, self._allowance)
        read = self._read
        if all(least[name] >= read[name] for name in least):
            return None
        return self._statements[1], self._params(least, read)

    def _params(self, least: dict[str, int], unread: Mapping[str, int]) -> dict[str, Any]:
        params = self._fixed | {f"c{name}": c for name, c in least.items()}
        params |= {f"u{name}": u for name, u in unread.items()}
        self._read = least
        return params


_score_then_id = operator.attrgetter("score", "id")


def merged(best: Sequence[Any], rows: Sequence[Any], limit: int) -> list[Any]:
    """The best ``limit`` of two rounds' answers, in the statements' order (score, then id,
    descending). A unit can be in both, read through rows of different domains or features,
    with the same score."""
    by_id = {row.id: row for row in (*best, *rows)}
    return sorted(by_id.values(), key=_score_then_id, reverse=True)[:limit]


# The order in which a unit is assigned to the first query feature it matches (see
# ``_feature_allowance``): the kinds with the most rows last, where the bound is tightest.
_ASSIGNED_FIRST = ("pattern", "framework", "language")
_KIND_WEIGHTS = {
    "language": scoring.LANGUAGE_WEIGHT,
    "framework": scoring.FRAMEWORK_WEIGHT,
    "pattern": scoring.PATTERN_WEIGHT,
}


def _feature_allowance(features: Sequence[str]) -> list[float]:
    """For each feature list, the most the context terms can add for the units it must find.

    As with the domains, a unit only has to be found in the rows of the first query feature it
    matches, in a fixed order; it matches none before that one, so only the kinds from there
    on can add to its score."""
    kinds = [key.partition(":")[0] for key in features]
    order = sorted(range(len(features)), key=lambda k: _ASSIGNED_FIRST.index(kinds[k]))
    allowance = [0.0] * len(features)
    for position, k in enumerate(order):
        later = {kinds[j] for j in order[position:]}
        allowance[k] = sum(_KIND_WEIGHTS[kind] for kind in later)
    return allowance


def _jaccard_bound(dc: int, n: int, most_hits: int) -> float:
    """The most Jaccard with ``n`` query domains of a unit in the range for ``dc`` domains that
    shares at most ``most_hits`` of them (the tail range takes the most over all its counts)."""
    counts = range(dc, MAX_DOMAINS_PER_UNIT + 1) if dc == TAIL_COUNT else (dc,)
    return max(min(most_hits, c) / (c + n - min(most_hits, c)) for c in counts)


def _least_confidences(
    spec: QuerySpec, threshold: float, allowance: Sequence[int]
) -> dict[str, int]:
    """The least confidence, by range name, at which each range's units can reach
    ``threshold``; past the ceiling a range is empty (one index probe that finds nothing)."""
    n = len(spec.domains)
    features = query_features(spec)
    # Plain rows hold the units that match no feature, unless there are no feature lists.
    plain_extra = 0.0 if features else context_weight(spec)
    feature_extra = _feature_allowance(features)
    floor = threshold * (1 - SLACK)
    least: dict[str, int] = {}
    for i, most_hits in enumerate(allowance):
        for dc in _COUNTS:
            domain_term = scoring.DOMAIN_WEIGHT * _jaccard_bound(dc, n, most_hits)
            weights = [(None, domain_term + plain_extra)]
            weights += [(k, domain_term + feature_extra[k]) for k in range(len(features))]
            for k, weight in weights:
                c = math.ceil(floor / weight)
                least[_range_name(i, k, dc)] = min(c, scoring.CEILING_POINTS + 1)
    return least


def ranking_rows(
    domains: Sequence[str], languages: Sequence[str], frameworks: Sequence[str], pattern_key: str
) -> list[dict[str, Any]]:
    """A unit's ``unit_domains`` rows, but for its id and ranking columns: one per domain and
    feature, each carrying what scoring needs of the unit."""
    payload = {
        "domain_count": len(domains),
        "domain_set": tag_set(domains),
        "language_set": tag_set(dict.fromkeys(languages)),
        "framework_set": tag_set(dict.fromkeys(frameworks)),
        "pattern_key": pattern_key,
    }
    features = ["", *unit_features(languages, frameworks, pattern_key)]
    return [{"domain": d, "feature": f, **payload} for d in domains for f in features]
