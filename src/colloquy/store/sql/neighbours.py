"""Neighbours: the pending and approved units whose text is closest to a unit's, for reviewers
to spot a duplicate. Computed when a reviewer looks, never when a unit is proposed."""

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from colloquy.domain.models import ReviewStatus
from colloquy.domain.tags import tag_words
from colloquy.domain.words import text_words
from colloquy.store import tables as t
from colloquy.store.protocol import MAX_NEIGHBOURS, Neighbour
from colloquy.store.sql.database import Database
from colloquy.store.sql.ranking.text_candidates import searchable_terms, text_candidates
from colloquy.store.sql.ranking.word_counts import WordCounts

# The least score (a match's full-text score over the best one of the search) a neighbour
# needs to be shown; measured on the labelled set (README, "Duplicates").
NEIGHBOUR_FLOOR = 0.35
# Words of a unit's text, and of its tags, that its search asks for.
TEXT_WORDS = 40
TAG_WORDS = 16
# The most index entries one search reads (the words kept are the rarest that fit).
POSTING_BUDGET = 5_000
CANDIDATES = (ReviewStatus.PENDING, ReviewStatus.APPROVED)

_u = t.units.c
_UNIT = select(
    _u.status, _u.summary, _u.detail, _u.action, _u.domains, _u.languages, _u.frameworks
).where(_u.id == bindparam("unit_id"))
_SUMMARIES = select(_u.id, _u.summary, _u.status).where(_u.id.in_(bindparam("ids", expanding=True)))


def unit_words(summary: str, detail: str, action: str, tags: list[str]) -> list[str]:
    """What a unit's search asks for: its text's words (the summary's first, then the
    action's, which say the most) and its tags' words, each list bounded."""
    words = text_words(f"{summary}\n{action}\n{detail}", TEXT_WORDS)
    tagged = text_words(" ".join(w for tag in tags for w in tag_words(tag)), TAG_WORDS)
    return list(dict.fromkeys(words + tagged))


class NeighbourRepository:
    """Neighbours by the same full-text machinery as hybrid ranking (``ranking.text_candidates``),
    sharing its word counts."""

    def __init__(self, db: Database, counts: WordCounts, floor: float = NEIGHBOUR_FLOOR) -> None:
        """``floor``: the least score shown (measure it again with ``floor=0``)."""
        self._db = db
        self._counts = counts
        self._floor = floor

    async def neighbours(self, unit_id: str, limit: int) -> list[Neighbour]:
        limit = min(limit, MAX_NEIGHBOURS)

        def read(conn: Connection) -> list[Neighbour]:
            unit = conn.execute(_UNIT, {"unit_id": unit_id}).first()
            if unit is None or unit.status == ReviewStatus.REJECTED or limit <= 0:
                return []
            words = unit_words(
                unit.summary,
                unit.detail,
                unit.action,
                [*unit.domains, *unit.languages, *unit.frameworks],
            )
            search = self._db.dialect.text_search
            groups = [frozenset({word}) for word in words]
            terms = searchable_terms(conn, search, self._counts, groups, POSTING_BUDGET)
            # One more than asked: the unit itself is usually the best match of its own words.
            matches = text_candidates(conn, search, self._counts, terms, CANDIDATES, limit + 1)
            best = matches[0][1] if matches else 0.0
            if best <= 0:
                return []
            close = {
                uid: score / best
                for uid, score in matches
                if uid != unit_id and score / best >= self._floor
            }
            if not close:
                return []
            rows = {r.id: r for r in conn.execute(_SUMMARIES, {"ids": list(close)})}
            return [
                Neighbour(
                    unit_id=uid,
                    summary=rows[uid].summary,
                    status=ReviewStatus(rows[uid].status),
                    score=score,
                )
                for uid, score in list(close.items())[:limit]
                if uid in rows
            ]

        return await self._db.read(read)
