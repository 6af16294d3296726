"""Ranked full-text search over units' summary, detail, action and tag words, per backend.

A query is a list of word groups, one per meaning (a word and its alias variants); a unit
matches a group when it holds any of its words. Words reach the engine only as quoted terms
(FTS5) or quoted lexemes (``to_tsquery``), never as syntax, so ``NEAR``, ``*``, ``:`` or a quote
in an agent's text are plain words. Each backend gives a bounded document count per group
(what tells a rare word from a flood word) and a ranked candidate statement:

- SQLite: FTS5 ``units_fts`` (porter, unicode61) and ``bm25()`` with column weights, whose IDF
  is the engine's own;
- PostgreSQL: the weighted ``units.search`` and ``units.tag_search`` vectors and ``ts_rank``,
  which has no IDF, so each group's rank is multiplied by an IDF from its bounded count; each
  match's ``search`` vector, kept in its row, is read once for all its groups
  (``_tsvector_candidates``).

The statements are text, built once per shape (the number of groups, on PostgreSQL only).
"""

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_PIECES = re.compile(r"\w+")
# BM25 column weights (summary, detail, action, tag words): a summary says what a unit is
# about in few words; tag words are what its proposer filed it under; detail is long.
FTS5_WEIGHTS = (3.0, 1.0, 1.5, 2.0)
# ts_rank label weights {D, C, B, A}: detail C, action B, summary A (migration 0008).
TS_WEIGHTS = "{0.1, 0.4, 0.6, 1.0}"
# How much a tag-word match weighs beside a summary match on PostgreSQL.
TS_TAG_WEIGHT = 0.7


def word_pieces(word: str) -> list[str]:
    """A word as the runs of letters and digits a full-text engine indexes (a tag word can
    hold ``+`` or ``#``)."""
    return _PIECES.findall(word.lower())


@dataclass(frozen=True, slots=True)
class TextSearch:
    """One backend's full-text search.

    ``count`` is the statement of one query's document count, at most ``:cap``;
    ``candidates(groups)`` the SQL of ``(cid, relevance)`` rows: the best ``:text_limit`` units
    of the statuses ``:statuses`` (expanding) that match ``:match``, with their text relevance
    (> 0, higher is better). Where ``per_group``, that SQL also takes each group's query text
    ``:g<i>`` and IDF ``:i<i>``.
    """

    quote: str
    phrase: str
    alternatives: str
    count: str
    candidates: Callable[[int], str]
    per_group: bool
    listed: str
    """A subquery of the strings of a JSON list parameter (``listed.format(param=":name")``):
    one bound value, and one statement text, however long the list."""
    groups_held: str
    """How many groups of a JSON list of lists of needles have a needle in a text
    (``groups_held.format(groups=":name", text=...)``)."""

    def group_query(self, words: Sequence[str]) -> str:
        """One group as the engine's query text; empty when no word of it can be indexed."""
        terms: dict[str, None] = {}
        for word in words:
            pieces = word_pieces(word)
            if pieces:
                terms[self.phrase.join(map(self._quoted, pieces))] = None
        return "(" + self.alternatives.join(terms) + ")" if terms else ""

    def any_query(self, queries: Sequence[str]) -> str:
        """A query text that matches any of ``queries`` (group queries)."""
        return self.alternatives.join(q for q in queries if q)

    def slots(self, groups: int) -> int:
        """The number of per-group parameters ``candidates(groups)`` takes."""
        return groups if self.per_group else 0

    def _quoted(self, piece: str) -> str:
        return self.quote + piece.replace(self.quote, self.quote * 2) + self.quote


@functools.lru_cache(maxsize=1)
def _fts5_candidates(_groups: int) -> str:
    weights = ", ".join(map(str, FTS5_WEIGHTS))
    # FTS5 hands its matches over best first when ordered by its own ``rank`` (set to the
    # weighted bm25), so the join to ``units`` for the status stops at the ``text_limit``-th
    # unit kept instead of reading the row of every match (a third of the statement's time).
    # Constants only: every value is a bound parameter.
    return (
        "SELECT units.id AS cid, -units_fts.rank AS relevance "  # noqa: S608
        "FROM units_fts JOIN units ON units.rowid = units_fts.rowid "
        f"WHERE units_fts MATCH :match AND units_fts.rank MATCH 'bm25({weights})' "
        "AND units.status IN :statuses ORDER BY units_fts.rank LIMIT :text_limit"
    )


@functools.lru_cache(maxsize=64)
def _tsvector_candidates(groups: int) -> str:
    # Each group's query is a scalar subquery: computed once per statement (an InitPlan).
    # Written plainly, it is folded into a constant only in a plan made for the statement's
    # values; PostgreSQL soon runs a prepared statement with a generic plan instead (its
    # estimate looks no worse), where ``to_tsquery`` would parse and stem the group's words
    # again for every rank of every match: twice the statement's time.
    query = [f"(SELECT to_tsquery('english', :g{g}))" for g in range(groups)]
    ranks = " + ".join(
        f"CAST(:i{g} AS float8) * (ts_rank('{TS_WEIGHTS}', matched.search, {query[g]}, 1) "
        f"+ {TS_TAG_WEIGHT} * ts_rank(matched.tag_search, {query[g]}))"
        for g in range(groups)
    )
    # A unit's ``search`` vector is kept in its row (``STORAGE MAIN``, migration 0012), but may
    # be compressed there, or out of line (TOAST) in a row stored before that migration; then
    # each function given the column fetches and decompresses it again: once per group. An
    # array of one element holds its elements decompressed, so ``(ARRAY[search])[1]``, taken
    # in a subquery that ``OFFSET 0`` keeps from being merged into the ranks, decompresses it
    # once per match whatever the number of groups; the ranks read that copy (same lexemes,
    # positions and weights). For a plain vector in the row the copy costs ~0.4 µs a match.
    # The status is tested outside that subquery, so that it is never an index condition: a
    # generic plan, which cannot tell that most units are approved, would intersect the
    # matches with the status index's entries for nearly every unit (9 ms at 100k units, in
    # proportion at any size); on the matched rows it is a cheap filter before the ranks.
    # Constants only: every value is a bound parameter.
    return (
        f"SELECT cid, CAST({ranks or '0'} AS float8) AS relevance FROM ("  # noqa: S608
        "SELECT units.id AS cid, units.status, (ARRAY[units.search])[1] AS search, "
        "units.tag_search FROM units "
        "WHERE units.search @@ to_tsquery('english', :match) "
        "OR units.tag_search @@ to_tsquery('english', :match) OFFSET 0) AS matched "
        "WHERE matched.status IN :statuses ORDER BY relevance DESC LIMIT :text_limit"
    )


FTS5 = TextSearch(
    quote='"',
    phrase=" ",
    alternatives=" OR ",
    count=(
        "SELECT count(*) FROM (SELECT 1 FROM units_fts WHERE units_fts MATCH :match LIMIT :cap)"
    ),
    candidates=_fts5_candidates,
    per_group=False,
    listed="(SELECT value FROM json_each({param}))",
    groups_held=(
        "(SELECT count(*) FROM json_each({groups}) AS g WHERE EXISTS "
        "(SELECT 1 FROM json_each(g.value) AS w WHERE instr({text}, w.value) > 0))"
    ),
)

TSVECTOR = TextSearch(
    quote="'",
    phrase=" <-> ",
    alternatives=" | ",
    count=(
        "SELECT count(*) FROM (SELECT 1 FROM units "
        "WHERE units.search @@ to_tsquery('english', :match) "
        "OR units.tag_search @@ to_tsquery('english', :match) LIMIT :cap) AS matched"
    ),
    candidates=_tsvector_candidates,
    per_group=True,
    listed="(SELECT value FROM json_array_elements_text(CAST({param} AS json)) AS e(value))",
    groups_held=(
        "(SELECT count(*) FROM json_array_elements(CAST({groups} AS json)) AS g(value) WHERE "
        "EXISTS (SELECT 1 FROM json_array_elements_text(g.value) AS w(value) "
        "WHERE strpos({text}, w.value) > 0))"
    ),
)
