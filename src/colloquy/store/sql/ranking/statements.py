"""The ranked query's statements, built once per shape of query, and the values they take.

A whole round (read the candidates, score them, keep the best ``limit``) is one statement over
``unit_domains`` alone (``unit_rows``), joined to ``units`` only for the rows it returns.
Building a statement costs more than running it, and the driver's statement cache and the
compiled forms (``driver_statements``) both need one fixed text per shape, so each shape
(numbers of domains, languages, frameworks and feature lists, pattern or not) is built once
and its values arrive as parameters. Every parameter name is made by ``bind_name``, for the
statement and for its values alike.
"""

import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BindParameter,
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
from sqlalchemy.types import TypeEngine

from colloquy.domain import scoring
from colloquy.store import tables as t
from colloquy.store.dialect import Position
from colloquy.store.protocol import QuerySpec
from colloquy.store.sql.ranking.bounds import PAST_CEILING, TAIL_COUNT, Range, ranges
from colloquy.store.sql.ranking.unit_rows import tag_needle

# Statements kept per query shape.
SHAPES_KEPT = 512


class Bind(StrEnum):
    """What a bind parameter of the ranked statements holds; ``bind_name`` names each one."""

    DOMAIN = "d"  # a query domain: the rows to read
    NEEDLE = "n"  # a query domain, as found in a row's domain_set (``tag_needle``)
    LANGUAGE = "l"  # a query language, as found in a row's language_set
    FRAMEWORK = "f"  # a query framework, as found in a row's framework_set
    FEATURE = "x"  # a feature list's key (``unit_rows.feature_key``)
    LEAST = "c"  # a range's least confidence this round
    UNREAD = "u"  # a range's least confidence in the rounds before: what they have read
    PATTERN = "pattern"
    SIZE = "size"  # the seed: units read per query domain by rank
    LIMIT = "limit"


def bind_name(bind: Bind, *index: int | None) -> str:
    """The name of the ``index``-th parameter of a kind (a range's index is its ``Range``;
    a plain range's feature is None): the one place names are made."""
    return bind.value + "_".join("" if part is None else str(part) for part in index)


_LIMIT, _PATTERN, _SIZE = (bind_name(b) for b in (Bind.LIMIT, Bind.PATTERN, Bind.SIZE))


def _param(
    bind: Bind, *index: int | None, type_: TypeEngine[Any] | None = None
) -> BindParameter[Any]:
    return bindparam(bind_name(bind, *index), type_=type_)


@dataclass(frozen=True, slots=True)
class Shape:
    """One shape of query's statements and the names of their parameters, in the order of
    their values: the query's domains, languages, frameworks and feature lists, and the ranges
    (``bounds.ranges``).

    ``first`` reads the seed and the first round's bands; ``later`` the bands of a later round
    (None: the seed's answer is final, and ``first`` reads only the seed).
    """

    first: Select[Any]
    later: Select[Any] | None
    domains: tuple[str, ...]
    needles: tuple[str, ...]
    languages: tuple[str, ...]
    frameworks: tuple[str, ...]
    features: tuple[str, ...]
    least: tuple[str, ...]
    unread: tuple[str, ...]

    def values(self, spec: QuerySpec, features: Sequence[str]) -> dict[str, Any]:
        """The values every statement of ``spec`` takes; ``features`` are its feature lists."""
        values: dict[str, Any] = {_LIMIT: spec.limit}
        if spec.pattern:
            values[_PATTERN] = spec.pattern
        values.update(zip(self.domains, spec.domains, strict=True))
        values.update(zip(self.needles, map(tag_needle, spec.domains), strict=True))
        values.update(zip(self.languages, map(tag_needle, spec.languages), strict=True))
        values.update(zip(self.frameworks, map(tag_needle, spec.frameworks), strict=True))
        values.update(zip(self.features, features, strict=True))
        return values

    def first_values(
        self, values: Mapping[str, Any], size: int, least: Sequence[int]
    ) -> dict[str, Any]:
        """``first``'s values: ``values``, the seed's ``size``, and each range's band from its
        least confidence (``bounds.least_confidences``, in ``ranges`` order) up, as nothing
        is read before it."""
        first = {**values, _SIZE: size}
        first.update(zip(self.least, least, strict=True))
        first.update(zip(self.unread, [PAST_CEILING] * len(least), strict=True))
        return first

    def later_values(
        self, values: Mapping[str, Any], least: Sequence[int], read: Sequence[int]
    ) -> dict[str, Any]:
        """``later``'s values: ``values``, and each range's band from its least confidence up
        to where the rounds before read down to (``read``)."""
        later = dict(values)
        later.update(zip(self.least, least, strict=True))
        later.update(zip(self.unread, read, strict=True))
        return later


def shape_of(spec: QuerySpec, features: Sequence[str], units: bool) -> Shape:
    """The statements for ``spec``, whose feature lists are ``features``; with ``units``,
    their rows are whole ``units`` rows to render, else only ``id`` and ``score``."""
    return shape(
        len(spec.domains), len(spec.languages), len(spec.frameworks), bool(spec.pattern),
        len(features), units,
    )  # fmt: skip


@functools.lru_cache(maxsize=SHAPES_KEPT)
def shape(
    domains: int, languages: int, frameworks: int, pattern: bool, features: int, units: bool
) -> Shape:
    """The statements of one shape of query, built once.

    One domain and no context: a unit's score is the domain weight times its rank, so the seed
    (a domain's best units by rank, ties by id) is the answer, in order, and no ranges are read.
    """
    exact = domains == 1 and not (languages or frameworks or pattern)
    score = functools.partial(_best, domains, languages, frameworks, pattern, units)
    seeds = [select(_seed_part(i)) for i in range(domains)]
    in_ranges = () if exact else ranges(domains, features)
    bands = [_range(r) for r in in_ranges]
    return Shape(
        first=score(union_all(*seeds, *bands).subquery() if bands else seeds[0].subquery()),
        later=score(union_all(*bands).subquery()) if bands else None,
        domains=tuple(bind_name(Bind.DOMAIN, i) for i in range(domains)),
        needles=tuple(bind_name(Bind.NEEDLE, i) for i in range(domains)),
        languages=tuple(bind_name(Bind.LANGUAGE, j) for j in range(languages)),
        frameworks=tuple(bind_name(Bind.FRAMEWORK, j) for j in range(frameworks)),
        features=tuple(bind_name(Bind.FEATURE, k) for k in range(features)),
        least=tuple(bind_name(Bind.LEAST, *r) for r in in_ranges),
        unread=tuple(bind_name(Bind.UNREAD, *r) for r in in_ranges),
    )


_PAYLOAD = ("unit_id", "domain_count", "confidence", "domain_set", "language_set",
            "framework_set", "pattern_key")  # fmt: skip


def _payload() -> list[ColumnElement[Any]]:
    return [t.unit_domains.c[name] for name in _PAYLOAD]


def _seed_part(i: int) -> Subquery:
    """Domain ``i``'s best units for a one-domain query, by ``rank``."""
    ud = t.unit_domains.c
    return (
        select(*_payload())
        .where(ud.domain == _param(Bind.DOMAIN, i), ud.feature == "", ud.rank.is_not(None))
        .order_by(ud.rank.desc(), ud.unit_id.desc())
        .limit(_param(Bind.SIZE, type_=Integer()))
        .subquery()
    )


def _range(r: Range) -> Select[Any]:
    """Domain ``r.domain``'s units with ``r.count`` domains (``TAIL_COUNT`` or more for the
    last count) and feature list ``r.feature`` (or the plain rows), in the round's band of
    confidence for them."""
    ud = t.unit_domains.c
    return select(*_payload()).where(
        ud.domain == _param(Bind.DOMAIN, r.domain),
        ud.feature == ("" if r.feature is None else _param(Bind.FEATURE, r.feature)),
        ud.domain_count >= r.count if r.count == TAIL_COUNT else ud.domain_count == r.count,
        ud.confidence >= _param(Bind.LEAST, *r, type_=Integer()),
        ud.confidence < _param(Bind.UNREAD, *r, type_=Integer()),
    )


def _listed(column: ColumnElement[str], bind: Bind, count: int) -> ColumnElement[bool]:
    return or_(*(Position(column, _param(bind, j)) > 0 for j in range(count)))


def _best(
    domains: int, languages: int, frameworks: int, pattern: bool, units: bool, rows: Subquery
) -> Select[Any]:
    """The best ``limit`` units among ``rows`` (a unit may come once per query domain), with
    their score, best first and ties by id descending; with ``units``, joined to ``units`` to
    be rendered, else their ids alone."""
    r = rows.c
    hits = functools.reduce(
        operator.add,
        (case((Position(r.domain_set, _param(Bind.NEEDLE, i)) > 0, 1), else_=0)
         for i in range(domains)),
    )  # fmt: skip
    context: ColumnElement[int] = literal(0, Integer)
    for weight, present, matched in (
        (scoring.LANGUAGE_PERCENT, languages,
         lambda: _listed(r.language_set, Bind.LANGUAGE, languages)),
        (scoring.FRAMEWORK_PERCENT, frameworks,
         lambda: _listed(r.framework_set, Bind.FRAMEWORK, frameworks)),
        (scoring.PATTERN_PERCENT, pattern, lambda: r.pattern_key == _param(Bind.PATTERN)),
    ):  # fmt: skip
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
        .limit(_param(Bind.LIMIT, type_=Integer()))
    )
    if not units:
        return best.with_only_columns(c.unit_id.label("id"), score)
    best = best.subquery()
    return (
        select(t.units, best.c.score)
        .join(best, best.c.unit_id == t.units.c.id)
        .order_by(best.c.score.desc(), t.units.c.id.desc())
    )
