"""Hybrid ranking: the cq score fused with full-text relevance of the query's words, in SQL.

A query's words are its tags' words with every alias variant (``Aliases.query_words``: so
``postgres`` asks for ``postgresql``, ``k8s-probes`` for ``kubernetes`` and ``probe``) and the
words of its free text ``q`` (``text_words``), one group per meaning. They are matched with
the database's own full-text engine against each unit's summary, detail, action and tag words
(``text_search``), weighted so that rare words count more than flood tags. One statement then
scores a bounded set of candidates (the best units by text, the cq planner's best by tags, and
the best units of the alias variants of flood words as tags):

    score = (text_weight · r · t / max t + tag_weight · tag relevance) · (floor + (1 - floor) · c)

where ``t`` is a unit's text relevance, ``r`` how rare the query's rarest matched word is (its
IDF over that of a word one unit holds: a query of flood words only leaves the order to the
tags), the tag relevance is cq's (Jaccard of the domains plus the language, framework and
pattern boosts) with ``word_share`` of its Jaccard taken over tag words (with aliases) instead
of exact tags, and ``c`` the unit's confidence.

Bounded reads: a word group held by ``word_cap`` units or more is left out of the match (its
cost grows with its count, and so many units share it that it tells them apart no better than
the tags do: it counts through the cq relevance), and so are the commonest groups once the
ones kept hold ``posting_budget`` index entries in all.
"""

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import cq_schema
from sqlalchemy import Float, Integer, String, bindparam, column, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.selectable import TextualSelect

from colloquy.domain import scoring
from colloquy.domain.models import ReviewStatus
from colloquy.domain.tags import Aliases, singular
from colloquy.domain.words import text_words
from colloquy.store import tables as t
from colloquy.store.protocol import QuerySpec
from colloquy.store.sql.driver_statements import fetch
from colloquy.store.sql.ranking.planner import Planner
from colloquy.store.sql.ranking.text_candidates import (
    Terms,
    searchable_terms,
    text_binds,
    text_params,
)
from colloquy.store.sql.ranking.word_counts import WordCounts
from colloquy.store.sql.text_search import TextSearch

# Bounds of the word-for-word tag comparison (``tag_groups``): a query has at most 48 tags.
MAX_TAG_GROUPS = 24
MAX_VARIANTS = 8

AliasSource = Callable[[Connection], Aliases]
"""Where a query's alias table comes from (the shipped defaults, or an admin-edited table)."""


def query_tag_words(spec: QuerySpec, aliases: Aliases) -> list[frozenset[str]]:
    """The words of the query's domains, languages and frameworks, a group of variants per
    meaning (``Aliases.query_words``): worked out once per query, used twice."""
    return aliases.query_words([*spec.domains, *spec.languages, *spec.frameworks])


def tag_groups(tag_words: Sequence[frozenset[str]]) -> list[tuple[str, ...]]:
    """The query's tag words (``query_tag_words``), bounded (the most ``MAX_TAG_GROUPS``
    groups of ``MAX_VARIANTS`` variants each): what a unit's tag words are compared with,
    word for word."""
    return [tuple(sorted(g)[:MAX_VARIANTS]) for g in tag_words[:MAX_TAG_GROUPS]]


def word_groups(
    spec: QuerySpec, aliases: Aliases, tag_words: Sequence[frozenset[str]]
) -> list[frozenset[str]]:
    """The query's words, one group (its variants) per meaning: its tag words
    (``query_tag_words``), then the words of ``q``."""
    meanings: dict[str, frozenset[str]] = {}
    for group in tag_words:
        meanings[aliases.resolve(next(iter(group)))] = group
    for word in text_words(spec.q):
        base = singular(word)
        key = aliases.resolve(base)
        meanings[key] = meanings.get(key, frozenset()) | aliases.variants(base) | {word}
    return list(meanings.values())


def variant_domains(
    spec: QuerySpec, aliases: Aliases, search: TextSearch, matched: Terms
) -> list[str]:
    """Tags whose best units are candidates besides the planner's: the variants of the query's
    domain words that are too common to be matched as text (``postgres`` then still finds
    units tagged ``postgresql``), at most as many as a query may have domains."""
    variants: dict[str, None] = {}
    for group in aliases.query_words(spec.domains):
        if len(group) > 1 and search.group_query(sorted(group)) not in matched.queries:
            variants.update(dict.fromkeys(w for w in sorted(group) if w not in spec.domains))
    return list(variants)[: cq_schema.DOMAINS_MAX_ITEMS]


@dataclass(frozen=True, slots=True, kw_only=True)
class HybridRanker:
    """Reads hybrid-ranked queries; its fields are the knobs (tuned on the labelled set,
    benchmarks/retrieval, and the latency corpora, benchmarks/)."""

    # The score's two parts: text relevance (scaled to the best candidate's, and by how rare
    # the query's rarest matched word is) and cq relevance.
    text_weight: float = 0.5
    tag_weight: float = 0.5
    # Confidence scales the score from this floor (confidence 0) up to 1 (confidence 1).
    confidence_floor: float = 0.5
    # The tag part's Jaccard: of the exact tags (cq's) and, this share, of the tag words.
    word_share: float = 0.5
    # Candidates scored: the best this many units by text, and the planner's best this many.
    text_limit: int = 100
    planned: int = 5
    # Word groups held by this many units or more are not matched (see the module docstring).
    # Matching costs about 2 µs per index entry on SQLite, and on PostgreSQL about 2.5 µs to
    # visit the row and read its text vector (kept in the row: migration 0012) plus 0.7 µs
    # per group ranked (wall time at 100k units): these keep a query's text part to a few
    # (SQLite) or about 10-20 (PostgreSQL) milliseconds at any size. The retrieval
    # evaluation's distractors (benchmarks/retrieval, ``--distractors``) reach both bounds.
    word_cap: int = 1_000
    posting_budget: int = 2_500

    def rows(
        self,
        conn: Connection,
        spec: QuerySpec,
        aliases: Aliases,
        planner: Planner,
        sizes: Mapping[str, int],
        search: TextSearch,
        counts: WordCounts,
    ) -> Sequence[Any]:
        """The best ``spec.limit`` rows of ``units`` with their score, best first (ties by id
        descending), as named tuples (``driver_statements``)."""
        tag_words = query_tag_words(spec, aliases)
        terms = searchable_terms(
            conn, search, counts, word_groups(spec, aliases, tag_words), self.posting_budget
        )
        planned: list[str] = []
        variants: list[str] = []
        if spec.domains:
            wider = replace(spec, limit=max(spec.limit, self.planned))
            planned = [row.id for row in planner.rows(conn, wider, sizes, units=False)]
            variants = variant_domains(spec, aliases, search, terms)
        if not (terms.queries or planned or variants):
            return []
        slots = search.slots(len(terms.queries))
        tags = tag_groups(tag_words)
        statement = _hybrid(self, search, bool(terms.queries), slots, len(variants))
        # Lists travel as one JSON value each, so the statement's text is the same whatever
        # their lengths (one compiled and prepared statement per shape, few shapes).
        params: dict[str, Any] = {
            "tag_groups": json.dumps([[f" {word} " for word in group] for group in tags]),
            "planned": json.dumps(planned),
            **{f"v{i}": domain for i, domain in enumerate(variants)},
            "domains": json.dumps(spec.domains),
            "n_domains": len(spec.domains),
            "languages": json.dumps(spec.languages),
            "frameworks": json.dumps(spec.frameworks),
            "pattern": spec.pattern,
            "n_tag_words": len(tags),
            "limit": spec.limit,
        }
        if variants:
            params["per_variant"] = self.planned
        params["text_share"] = 0.0
        if terms.queries:
            units = counts.units(conn)
            # The text part counts as much as its rarest word tells units apart: fully for a
            # word only one unit holds, little when every word matched is a common one.
            params["text_share"] = counts.idf(min(terms.counts), units) / counts.idf(1, units)
            params |= text_params(conn, search, counts, terms)
            params |= {"statuses": [ReviewStatus.APPROVED.value], "text_limit": self.text_limit}
        return fetch(conn, statement, params)


# The statement's list parameters (``TextSearch.listed``), each a JSON list of strings.
_LISTS = ("planned", "domains", "languages", "frameworks")
# The lists compared with a candidate's own (``units`` columns of the same names).
_OWN = ("domains", "languages", "frameworks")
_UNIT_COLUMNS = ", ".join(f"units.{c.name}" for c in t.units.columns)
_REAL = "DOUBLE PRECISION"  # a float type name both SQLite and PostgreSQL know


def _variant_seeds(tags: int) -> str:
    """``UNION ALL`` parts: each variant tag's best ``:per_variant`` approved units by rank
    (the planner's seed read, on its index)."""
    return "".join(
        f" UNION ALL SELECT cid, CAST(0 AS {_REAL}) AS relevance FROM (SELECT "  # noqa: S608
        "unit_domains.unit_id AS cid FROM unit_domains WHERE unit_domains.domain = "
        f":v{i} AND unit_domains.feature = '' AND unit_domains.rank IS NOT NULL ORDER BY "
        f"unit_domains.rank DESC, unit_domains.unit_id DESC LIMIT :per_variant) AS seed{i}"
        for i in range(tags)
    )


@functools.lru_cache(maxsize=256)
def _hybrid(
    ranker: HybridRanker, search: TextSearch, matched: bool, slots: int, variant_tags: int
) -> TextualSelect:
    """The statement of one shape: with or without text terms, with ``slots`` per-group
    parameters (``TextSearch.slots``), and the best units of ``variant_tags`` tags
    (``variant_domains``) as candidates too."""
    listed = {name: search.listed.format(param=f":{name}") for name in _LISTS}
    # A candidate's own domains, languages and frameworks, from the ``units`` row its tag words
    # are read from anyway: no lookup of its ``unit_domains`` rows (which cost a third of the
    # statement's scoring, most of it reading rows to find a feature).
    own = {name: search.listed.format(param=f"units.{name}") for name in _OWN}
    held = {name: f"FROM {own[name]} AS own WHERE own.value IN {listed[name]}" for name in _OWN}
    # How many of the query's tag word groups a unit's tag words hold, each word as
    # `` word `` in `` tag_text ``.
    word_hits = search.groups_held.format(
        groups=":tag_groups", text="(' ' || units.tag_text || ' ')"
    )
    text_part = (
        f"text_hits AS ({search.candidates(slots)}), "  # noqa: S608
        "pooled AS (SELECT cid, relevance FROM text_hits UNION ALL "
        if matched
        else "pooled AS ("
    )
    floor = ranker.confidence_floor
    # Constants only: every value is a bound parameter.
    sql = (
        f"WITH {text_part}"  # noqa: S608
        f"SELECT units.id AS cid, CAST(0 AS {_REAL}) AS relevance FROM units "
        f"WHERE units.id IN {listed['planned']}{_variant_seeds(variant_tags)}), "
        "candidates AS (SELECT cid, max(relevance) AS relevance FROM pooled GROUP BY cid), "
        "tagged AS (SELECT candidates.cid, candidates.relevance, units.confidence, "
        "units.domain_count, "
        f"(SELECT count(*) {held['domains']}) AS hits, "
        f"(CASE WHEN EXISTS (SELECT 1 {held['languages']}) "
        f"THEN {scoring.LANGUAGE_PERCENT} ELSE 0 END "
        f"+ CASE WHEN EXISTS (SELECT 1 {held['frameworks']}) "
        f"THEN {scoring.FRAMEWORK_PERCENT} ELSE 0 END "
        f"+ CASE WHEN :pattern <> '' AND units.pattern_key = :pattern "
        f"THEN {scoring.PATTERN_PERCENT} ELSE 0 END) AS context "
        f", {word_hits} AS word_hits, "
        "CASE WHEN units.tag_text = '' THEN 0 ELSE length(units.tag_text) "
        "- length(replace(units.tag_text, ' ', '')) + 1 END AS words "
        "FROM candidates JOIN units ON units.id = candidates.cid), "
        "scored AS (SELECT cid, "
        f"({ranker.text_weight} * :text_share "
        "* coalesce(relevance / nullif(max(relevance) OVER (), 0), 0) "
        f"+ {ranker.tag_weight} * ({scoring.DOMAIN_PERCENT} * ("
        f"{1 - ranker.word_share} * CAST(hits AS {_REAL}) / (domain_count + :n_domains - hits) "
        f"+ {ranker.word_share} * CAST(word_hits AS {_REAL}) "
        "/ nullif(words + :n_tag_words - word_hits, 0)"
        ") + context) / 100.0) "
        f"* ({floor} + {1 - floor} * confidence / {float(scoring.SCALE)}) AS score "
        "FROM tagged) "
        f"SELECT {_UNIT_COLUMNS}, scored.score FROM scored JOIN units ON units.id = scored.cid "
        "ORDER BY scored.score DESC, units.id DESC LIMIT :limit"
    )
    clause = text(sql).bindparams(
        *(bindparam(name, type_=String()) for name in (*_LISTS, "tag_groups")),
        bindparam("n_domains", type_=Integer()),
        bindparam("n_tag_words", type_=Integer()),
        bindparam("text_share", type_=Float()),
        bindparam("pattern", type_=String()),
        bindparam("limit", type_=Integer()),
    )
    if matched:
        clause = text_binds(clause)
    if variant_tags:
        clause = clause.bindparams(bindparam("per_variant", type_=Integer()))
    return clause.columns(*t.units.columns, column("score", Float()))
