"""Full-text relevance: the units whose text (summary, detail, action) best matches some words.

``best_matches(conn, search, words, statuses, limit)`` answers the best ``limit`` units of the
given statuses, best first, each with a score (higher is better; comparable only within one
answer). The words are OR-ed, each passed to the engine quoted (FTS5) or as one lexeme
(PostgreSQL), so that nothing in them is syntax: give it ``domain.words.text_words`` and
``domain.tags.tag_words`` output. Each backend ranks with its own engine (``Fts5Search``:
``bm25()`` over ``units_fts``; ``TsvectorSearch``: ``ts_rank`` over ``units.search``), chosen by
the ``Dialect``.

A word costs what its document count is: the engine reads its whole posting list to score the
matches. So the words are first counted, each count stopped at ``COMMON_WORD_UNITS``; a word that
reaches it is too common to tell units apart and is left out, and the rest are taken rarest
first while their counts add up to at most ``MATCH_BUDGET``. A search then reads a bounded
number of postings at any table size, and rare words, the ones that decide, are always in it.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from colloquy.domain.models import ReviewStatus

# A word in this many units or more is left out of a search (its count stops there).
COMMON_WORD_UNITS = 1_000
# The most postings (matches of the words, summed) one search reads.
MATCH_BUDGET = 5_000
# The most words one search counts and asks for.
MAX_WORDS = 64


@dataclass(frozen=True, slots=True)
class TextMatch:
    unit_id: str
    score: float


class TextSearch(Protocol):
    """One backend's full-text engine: how many units hold each word, and the best matches."""

    async def unit_counts(
        self, conn: AsyncConnection, words: Sequence[str], cap: int
    ) -> dict[str, int]:
        """Each word's number of units, counted up to ``cap`` at most."""
        ...

    async def ranked(
        self,
        conn: AsyncConnection,
        words: Sequence[str],
        statuses: Sequence[ReviewStatus],
        limit: int,
    ) -> list[TextMatch]:
        """The best ``limit`` units of ``statuses`` holding any of ``words``, best first."""
        ...


def affordable(counts: dict[str, int]) -> list[str]:
    """The words worth searching for: found, not too common, rarest first within the budget."""
    chosen, spent = [], 0
    for word, count in sorted(counts.items(), key=lambda wc: (wc[1], wc[0])):
        if count == 0 or count >= COMMON_WORD_UNITS or spent + count > MATCH_BUDGET:
            continue
        chosen.append(word)
        spent += count
    return chosen


async def best_matches(
    conn: AsyncConnection,
    search: TextSearch,
    words: Sequence[str],
    statuses: Sequence[ReviewStatus],
    limit: int,
) -> list[TextMatch]:
    """The best ``limit`` units of ``statuses`` for ``words``, best first (module docstring)."""
    words = list(dict.fromkeys(words))[:MAX_WORDS]
    if not words or limit <= 0:
        return []
    chosen = affordable(await search.unit_counts(conn, words, COMMON_WORD_UNITS))
    if not chosen:
        return []
    return await search.ranked(conn, chosen, statuses, limit)


# ---------------------------------------------------------------- SQLite: FTS5


def _fts5_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


_FTS5_COUNTS = text(
    "SELECT w.value AS word, (SELECT count(*) FROM (SELECT 1 FROM units_fts "
    "WHERE units_fts MATCH '\"' || replace(w.value, '\"', '\"\"') || '\"' LIMIT :cap)) AS n "
    "FROM json_each(:words) AS w"
)
# bm25() is lower for better matches: negated, so that higher is better on every backend. Its
# columns (summary, detail, action) weigh the same: on the labelled set's duplicates, weighting
# the summary more ranked a twin second once.
_FTS5_RANKED = text(
    "SELECT u.id AS unit_id, -bm25(units_fts) AS score "
    "FROM units_fts JOIN units AS u ON u.rowid = units_fts.rowid "
    "WHERE units_fts MATCH :match "
    "AND u.status IN (SELECT value FROM json_each(:statuses)) "
    "ORDER BY score DESC, u.id LIMIT :limit"
)


class Fts5Search:
    """SQLite's FTS5 table ``units_fts`` (porter stemming), ranked by ``bm25()``."""

    async def unit_counts(
        self, conn: AsyncConnection, words: Sequence[str], cap: int
    ) -> dict[str, int]:
        rows = await conn.execute(_FTS5_COUNTS, {"words": json.dumps(list(words)), "cap": cap})
        return {row.word: row.n for row in rows}

    async def ranked(
        self,
        conn: AsyncConnection,
        words: Sequence[str],
        statuses: Sequence[ReviewStatus],
        limit: int,
    ) -> list[TextMatch]:
        values = {
            "match": " OR ".join(_fts5_phrase(w) for w in words),
            "statuses": json.dumps([s.value for s in statuses]),
            "limit": limit,
        }
        rows = await conn.execute(_FTS5_RANKED, values)
        return [TextMatch(row.unit_id, row.score) for row in rows]


# ---------------------------------------------------------------- PostgreSQL: tsvector

# A word as a tsquery of one lexeme: quote_literal makes any text one quoted term.
_TSVECTOR_COUNTS = text(
    "SELECT w AS word, (SELECT count(*) FROM (SELECT 1 FROM units "
    "WHERE search @@ to_tsquery('english', quote_literal(w)) LIMIT :cap) AS hits) AS n "
    "FROM unnest(CAST(:words AS text[])) AS w"
)
# ts_rank's normalisation 1 divides by 1 + log(length), so that a long detail does not outrank
# a short unit that holds the same words.
_TSVECTOR_RANKED = text(
    "SELECT u.id AS unit_id, ts_rank(u.search, q.query, 1) AS score "
    "FROM units AS u, (SELECT to_tsquery('english', string_agg(quote_literal(w), ' | ')) "
    "AS query FROM unnest(CAST(:words AS text[])) AS w) AS q "
    "WHERE u.search @@ q.query AND u.status = ANY(CAST(:statuses AS text[])) "
    "ORDER BY score DESC, u.id LIMIT :limit"
)


class TsvectorSearch:
    """PostgreSQL's generated ``units.search`` tsvector (GIN), ranked by ``ts_rank``."""

    async def unit_counts(
        self, conn: AsyncConnection, words: Sequence[str], cap: int
    ) -> dict[str, int]:
        rows = await conn.execute(_TSVECTOR_COUNTS, {"words": list(words), "cap": cap})
        return {row.word: row.n for row in rows}

    async def ranked(
        self,
        conn: AsyncConnection,
        words: Sequence[str],
        statuses: Sequence[ReviewStatus],
        limit: int,
    ) -> list[TextMatch]:
        values = {"words": list(words), "statuses": [s.value for s in statuses], "limit": limit}
        rows = await conn.execute(_TSVECTOR_RANKED, values)
        return [TextMatch(row.unit_id, float(row.score)) for row in rows]
