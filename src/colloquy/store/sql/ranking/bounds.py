"""The bounds that let a ranked query read only units that can make its answer (pure math).

score = confidence · (wd·|U∩D|/|U∪D| + wl·language + wf·framework + wp·pattern)

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
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from colloquy.domain import scoring
from colloquy.store.protocol import QuerySpec
from colloquy.store.sql.ranking.unit_rows import unit_features

MAX_DOMAINS_PER_UNIT = 16
# Units with this many domains or more share one range per list (few units have that many, and
# fewer ranges make a statement that is quicker to build, compile and run).
TAIL_COUNT = 6
COUNTS = range(1, TAIL_COUNT + 1)
# Loosens every bound a little, so that float rounding never drops a tie.
SLACK = 1e-9
# Queries with more language, framework and pattern values than this read one loose bound
# instead of a list per feature.
MAX_FEATURE_LISTS = 4
# A least confidence no unit reaches: the range is empty (one index probe that finds nothing).
# As the least confidence of the rounds before the first, it means "nothing read yet".
PAST_CEILING = scoring.CEILING_POINTS + 1
# Bounds kept per (domain order, feature kinds, context): few, as sizes change slowly.
WEIGHTS_KEPT = 1_024


class Range(NamedTuple):
    """One index range of a ranked statement: query domain ``domain``'s rows of feature list
    ``feature`` (None: the plain rows) for units with ``count`` domains (``TAIL_COUNT``: that
    many or more)."""

    domain: int
    feature: int | None
    count: int


@functools.cache
def ranges(domains: int, features: int) -> tuple[Range, ...]:
    """Every range of a query with ``domains`` domains and ``features`` feature lists, in the
    one order that the statements and the bounds share (few: both counts are bounded)."""
    return tuple(
        Range(i, k, dc) for i in range(domains) for k in (None, *range(features)) for dc in COUNTS
    )


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


def hit_allowance(domains: Sequence[str], sizes: Mapping[str, int]) -> tuple[int, ...]:
    """For each query domain, the most query domains a unit must be bounded for in its rows:
    the smallest domain (by ``sizes``, unknown as 0) takes the general bound, the largest the
    one-domain bound. ``sizes`` may be stale or wrong: that costs speed, never correctness."""
    order = sorted(range(len(domains)), key=lambda i: (sizes.get(domains[i], 0), domains[i]))
    allowance = [0] * len(domains)
    for position, i in enumerate(order):
        allowance[i] = len(domains) - position
    return tuple(allowance)


# The order in which a unit is assigned to the first query feature it matches (see
# ``feature_allowance``): the kinds with the most rows last, where the bound is tightest.
_ASSIGNED_FIRST = ("pattern", "framework", "language")
_KIND_WEIGHTS = {
    "language": scoring.LANGUAGE_WEIGHT,
    "framework": scoring.FRAMEWORK_WEIGHT,
    "pattern": scoring.PATTERN_WEIGHT,
}


def feature_allowance(kinds: Sequence[str]) -> list[float]:
    """For each feature list (by its kind), the most the context terms can add for the units it
    must find.

    As with the domains, a unit only has to be found in the rows of the first query feature it
    matches, in a fixed order; it matches none before that one, so only the kinds from there
    on can add to its score."""
    order = sorted(range(len(kinds)), key=lambda k: _ASSIGNED_FIRST.index(kinds[k]))
    allowance = [0.0] * len(kinds)
    for position, k in enumerate(order):
        later = {kinds[j] for j in order[position:]}
        allowance[k] = sum(_KIND_WEIGHTS[kind] for kind in later)
    return allowance


def jaccard_bound(dc: int, n: int, most_hits: int) -> float:
    """The most Jaccard with ``n`` query domains of a unit in the range for ``dc`` domains that
    shares at most ``most_hits`` of them (the tail range takes the most over all its counts)."""
    counts = range(dc, MAX_DOMAINS_PER_UNIT + 1) if dc == TAIL_COUNT else (dc,)
    return max(min(most_hits, c) / (c + n - min(most_hits, c)) for c in counts)


@functools.lru_cache(maxsize=WEIGHTS_KEPT)
def range_weights(
    allowance: tuple[int, ...], kinds: tuple[str, ...], context: float
) -> tuple[float, ...]:
    """For each range (``ranges`` order), the most relevance a unit it must find can have:
    its score per point of confidence. ``allowance`` is ``hit_allowance``, ``kinds`` the
    kind of each feature list and ``context`` the query's ``context_weight``. Cached: the
    same few arguments come back query after query."""
    n = len(allowance)
    # Plain rows hold the units that match no feature, unless there are no feature lists.
    plain_extra = 0.0 if kinds else context
    extra = feature_allowance(kinds)
    return tuple(
        scoring.DOMAIN_WEIGHT * jaccard_bound(r.count, n, allowance[r.domain])
        + (plain_extra if r.feature is None else extra[r.feature])
        for r in ranges(n, len(kinds))
    )


def least_confidences(weights: Sequence[float], threshold: float) -> list[int]:
    """For each range, the least confidence at which its units can reach ``threshold``
    (``PAST_CEILING``: none can)."""
    floor = threshold * (1 - SLACK)
    return [min(math.ceil(floor / weight), PAST_CEILING) for weight in weights]


_score_then_id = operator.attrgetter("score", "id")


def merged(best: Sequence[Any], rows: Sequence[Any], limit: int) -> list[Any]:
    """The best ``limit`` of two rounds' answers, in the statements' order (score, then id,
    descending). A unit can be in both, read through rows of different domains or features,
    with the same score."""
    by_id = {row.id: row for row in (*best, *rows)}
    return sorted(by_id.values(), key=_score_then_id, reverse=True)[:limit]
