"""How a ranked query is read: in rounds, each for a lower score threshold, until nothing left
unread can beat the answer.

Each round scores the units whose bound (``bounds``) reaches the round's threshold, which comes
down from the best possible score; once ``limit`` of them reach it, nothing else can. The first
round also scores a seed (each query domain's best units by rank), so that every round's
answer is a floor that the threshold never has to go below. Each range's least confidence only
comes down from round to round, so each round reads only the band of each range that the rounds
before it have not: no row is read twice. A round's answer is then the best of its own rows and
the answers before it (``bounds.merged``). Each round is one statement (``statements``) that
returns the rows to render; most queries need one. Statements run on the driver's cursor
(``driver_statements``): they are few shapes, each run many times with plain values.
"""

import itertools
import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select
from sqlalchemy.engine import Connection

from colloquy.store.protocol import QuerySpec
from colloquy.store.sql.driver_statements import decoded, fetch
from colloquy.store.sql.ranking import bounds
from colloquy.store.sql.ranking.statements import Shape, shape_of

Statement = tuple[Select[Any], dict[str, Any]]
# The placeholder of the prepared shapes' values. Domains are stored lower-cased, so no unit
# is in it, and each prepared statement is a handful of empty index probes.
PLACEHOLDER = "PREPARED"


class _Query(NamedTuple):
    """What every round of one query shares."""

    shape: Shape
    values: dict[str, Any]  # ``Shape.values``
    size: int  # the seed's size
    weights: tuple[float, ...]  # ``bounds.range_weights``; empty when the seed is the answer


@dataclass(frozen=True, slots=True, kw_only=True)
class Planner:
    """Reads ranked queries; its fields are the knobs, tuned on the benchmarks' corpora.

    Stateless: one planner serves every query of a store, and each query's rounds live in the
    call that runs them.
    """

    # Units seeded per query domain (at least the limit).
    seed_per_domain: int = 64
    # How fast the score threshold comes down from the best possible score towards the floor.
    # Each round is a statement, and a statement's fixed cost (a hand-off to the driver and
    # back, building its parameters, reading its result) outweighs the rows a steeper step
    # reads: at 100k units 0.6 takes 1.7 statements per benchmark query against 0.8's 2.5,
    # for about two thirds of the CPU.
    threshold_descent: float = 0.6
    # Where the first round's threshold starts: most queries' best scores sit well below the
    # best possible, but when every query domain holds this many approved units, enough of
    # their units reach it (confidence steps make many ties at the top) that starting lower
    # only reads more rows.
    dense_domain_units: int = 2_500
    # When the query's domains hold fewer approved units than this together, the round after
    # the first reads everything that can still beat its answer: one statement over a few
    # hundred rows costs less than several that each read a slice of them.
    small_query_units: int = 1_000
    # Query shapes compiled ahead (``prepared``): up to this many domains, with or without each
    # of a language, a framework and a pattern.
    prepared_domains: int = 3

    def rows(
        self, conn: Connection, spec: QuerySpec, sizes: Mapping[str, int], units: bool = True
    ) -> Sequence[Any]:
        """The best ``spec.limit`` rows of ``units``, with their score, best first (ties by id
        descending), as named tuples (``driver_statements``); without ``units``, only their
        ``id`` and ``score`` (nothing to decode for a caller that needs only the ids).
        ``sizes``: approved units per domain (``DomainSizes``); stale or missing sizes cost
        speed, never correctness."""
        # Rounds' rows are decoded once they make the answer: many are outranked unseen.
        return decoded(self._best(conn, self._query(spec, sizes, units), spec, sizes))

    def _best(
        self, conn: Connection, query: _Query, spec: QuerySpec, sizes: Mapping[str, int]
    ) -> Sequence[Any]:
        """``rows``, as the driver gave them (``fetch`` without ``decode``)."""
        if query.shape.later is None:  # the seed's answer is final: no threshold to meet
            statement, _ = self._first(query, 0.0)
            return fetch(conn, *statement, decode=False)
        dense = all(sizes.get(domain, 0) >= self.dense_domain_units for domain in spec.domains)
        threshold = bounds.max_score(spec) * (1.0 if dense else self.threshold_descent)
        statement, read = self._first(query, threshold)
        best: Sequence[Any] = fetch(conn, *statement, decode=False)
        # Fewer than ``limit`` means the seed held every unit of the query's domains.
        if len(best) < spec.limit or best[-1].score >= threshold:
            return best
        small = sum(sizes.get(domain, 0) for domain in spec.domains) < self.small_query_units
        # Each round's threshold is ``descent`` times the last (0: straight to the floor).
        descent = 0.0 if small else self.threshold_descent
        # Every round's ``limit`` real units raise the floor that the answer is sure to reach.
        while threshold > best[-1].score:
            threshold *= descent
            # Below a point nothing but a zero score is left to tell apart: go to the floor.
            threshold = max(threshold if threshold >= 1 else 0.0, best[-1].score)
            later = self._later(query, threshold, read)
            if later is not None:
                statement, read = later
                best = bounds.merged(best, fetch(conn, *statement, decode=False), spec.limit)
        return best

    def statements(self, spec: QuerySpec, units: bool = True) -> list[Statement]:
        """Every statement a query of ``spec``'s shape runs (``rows``' ``units``), with
        ``spec``'s values: the first round's from the best possible score, and a later round's
        down to the floor (none when the first round's answer is final)."""
        query = self._query(spec, {}, units)
        first, read = self._first(query, bounds.max_score(spec))
        later = self._later(query, 0.0, read)
        return [first] if later is None else [first, later[0]]

    def prepared(self, units: bool = True) -> Iterator[list[Statement]]:
        """The statements of the common query shapes (``rows``' ``units``), a list per shape,
        over a placeholder domain: worth compiling and preparing ahead of the first agents'
        queries."""
        for domains, languages, frameworks, pattern in itertools.product(
            range(1, self.prepared_domains + 1), (0, 1), (0, 1), (False, True)
        ):
            yield self.statements(
                QuerySpec(
                    domains=[f"{PLACEHOLDER}{i}" for i in range(domains)],
                    languages=[PLACEHOLDER] * languages,
                    frameworks=[PLACEHOLDER] * frameworks,
                    pattern=PLACEHOLDER if pattern else "",
                ),
                units,
            )

    def _query(self, spec: QuerySpec, sizes: Mapping[str, int], units: bool) -> _Query:
        features = bounds.query_features(spec)
        shape = shape_of(spec, features, units)
        values = shape.values(spec, features)
        size = max(self.seed_per_domain, spec.limit)
        if shape.later is None:
            return _Query(shape, values, size, ())
        weights = bounds.range_weights(
            bounds.hit_allowance(spec.domains, sizes),
            tuple(key.partition(":")[0] for key in features),
            bounds.context_weight(spec),
        )
        return _Query(shape, values, size, weights)

    @staticmethod
    def _first(query: _Query, threshold: float) -> tuple[Statement, list[int]]:
        """The first round: the best ``limit`` among each query domain's seed and every unit
        whose score can reach ``threshold`` (the seed alone when its answer is final); with
        the least confidences it read down to."""
        least = bounds.least_confidences(query.weights, threshold)
        values = query.shape.first_values(query.values, query.size, least)
        return (query.shape.first, values), least

    @staticmethod
    def _later(
        query: _Query, threshold: float, read: Sequence[int]
    ) -> tuple[Statement, list[int]] | None:
        """A later round: the best ``limit`` of the units that can reach ``threshold`` and
        that no round before has read (down to ``read``); None when there are none."""
        least = bounds.least_confidences(query.weights, threshold)
        if not any(map(operator.lt, least, read)):
            return None
        assert query.shape.later is not None  # only queries with ranges have later rounds
        return (query.shape.later, query.shape.later_values(query.values, least, read)), least
