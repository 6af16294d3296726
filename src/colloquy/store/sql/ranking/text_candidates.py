"""The text half of ranking, reusable: which of a query's word groups are worth matching,
and the units that best match them (hybrid ranking; duplicates of a proposal).

A group is a word and its alias variants; ``searchable_terms`` keeps those held by some unit and
by fewer than the word cap, rarest first within a budget of index entries, so that a match
reads a bounded number of them (``word_counts``); ``text_candidates`` returns the best units
of the given statuses by the backend's own full-text relevance (``text_search``).
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, String, TextClause, bindparam, column, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.selectable import TextualSelect

from colloquy.domain.models import ReviewStatus
from colloquy.store.sql.driver_statements import fetch
from colloquy.store.sql.ranking.word_counts import WordCounts
from colloquy.store.sql.text_search import TextSearch


@dataclass(frozen=True, slots=True)
class Terms:
    """The group queries a ranked statement matches, with each one's document count."""

    queries: tuple[str, ...]
    counts: tuple[int, ...]


def searchable_terms(
    conn: Connection,
    search: TextSearch,
    counts: WordCounts,
    groups: Sequence[frozenset[str]],
    posting_budget: int,
) -> Terms:
    """The groups worth matching: held by some unit and by fewer than ``counts.cap``, rarest
    first while their counts add up to at most ``posting_budget``."""
    queries = list(dict.fromkeys(q for q in (search.group_query(sorted(g)) for g in groups) if q))
    found = sorted(zip(counts.counts(conn, queries), queries, strict=True))
    kept: list[tuple[int, str]] = []
    spent = 0
    for count, query in found:
        if count == 0:
            continue
        if count >= counts.cap or spent + count > posting_budget:
            break
        kept.append((count, query))
        spent += count
    return Terms(tuple(q for _, q in kept), tuple(c for c, _ in kept))


def text_candidates(
    conn: Connection,
    search: TextSearch,
    counts: WordCounts,
    terms: Terms,
    statuses: Sequence[ReviewStatus],
    limit: int,
) -> list[tuple[str, float]]:
    """The ids of the units of ``statuses`` that best match ``terms``, with their text
    relevance (higher is better), best first: at most ``limit``."""
    if not terms.queries:
        return []
    statement = _candidates(search, search.slots(len(terms.queries)))
    params = text_params(conn, search, counts, terms)
    params |= {"statuses": [s.value for s in statuses], "text_limit": limit}
    return [(row.cid, row.relevance) for row in fetch(conn, statement, params)]


def text_params(
    conn: Connection, search: TextSearch, counts: WordCounts, terms: Terms
) -> dict[str, Any]:
    params: dict[str, Any] = {"match": search.any_query(terms.queries)}
    if search.per_group:
        units = counts.units(conn)
        for g, (query, count) in enumerate(zip(terms.queries, terms.counts, strict=True)):
            params[f"g{g}"] = query
            params[f"i{g}"] = counts.idf(count, units)
    return params


def text_binds(clause: TextClause) -> TextClause:
    return clause.bindparams(
        bindparam("statuses", expanding=True, type_=String()),
        bindparam("text_limit", type_=Integer()),
    )


@functools.lru_cache(maxsize=64)
def _candidates(search: TextSearch, slots: int) -> TextualSelect:
    return text_binds(text(search.candidates(slots))).columns(
        column("cid", String()), column("relevance", Float())
    )
