"""How many units hold a word group, counted up to a cap and kept briefly in-process.

A word's document count tells a rare word (worth matching: it tells units apart) from a flood
word (``python`` on a third of the units: matching it costs in proportion to its count and
says little). Counting stops at the cap, and each count is kept ``keep_seconds`` for the
queries after; one that reached the cap, ``flood_keep_seconds``. A flood word stays one (units
are never deleted, and every status counts), and it is what costs to count again: PostgreSQL
runs the prepared count with a generic plan (536 of 541 counts over a benchmark sample), which
reads the word's whole posting list before the cap (``python`` at 100k units: 11 ms against
a tenth of that for a plan made for the word, and ten times that at a million units).
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from sqlalchemy import Integer, bindparam, column, func, select, text
from sqlalchemy.engine import Connection

from colloquy.store import tables as t
from colloquy.store.sql.driver_statements import fetch
from colloquy.store.sql.text_search import TextSearch

_c = t.unit_counts.c
_TOTAL = select(func.coalesce(func.sum(_c.n), 0)).where(_c.key.like("status:%"))
_TOTAL_KEY = ""  # the cache entry of the number of units (no group query is empty)


class WordCounts:
    """Document counts of group queries (``TextSearch.group_query``), up to ``cap``; at most
    ``kept`` of them, each for ``keep_seconds`` by ``clock`` (``flood_keep_seconds`` when it
    reached ``cap``)."""

    def __init__(
        self,
        search: TextSearch,
        cap: int,
        kept: int = 4_096,
        keep_seconds: float = 60.0,
        flood_keep_seconds: float = 3_600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = (
            text(search.count)
            .bindparams(bindparam("cap", type_=Integer()))
            .columns(column("n", Integer()))
        )
        self.cap = cap
        self._kept = kept
        self._keep_seconds = keep_seconds
        self._flood_keep_seconds = flood_keep_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, int]] = OrderedDict()
        # Reader threads share the entries; a count is read outside the lock.
        self._lock = threading.Lock()

    def counts(self, conn: Connection, queries: Sequence[str]) -> list[int]:
        """Each query's count of units (any status), ``cap`` when it is ``cap`` or more."""
        return [self._cached(conn, query) for query in queries]

    def units(self, conn: Connection) -> int:
        """The number of units (any status), from the kept counters."""
        return self._cached(conn, _TOTAL_KEY)

    def idf(self, count: int, units: int) -> float:
        """BM25's inverse document frequency of a word in ``count`` of ``units`` units."""
        units = max(units, count)
        return math.log(1.0 + (units - count + 0.5) / (count + 0.5))

    def _cached(self, conn: Connection, query: str) -> int:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(query)
        if entry is not None:
            counted, count = entry
            # The number of units (which grows) is no flood word, however large.
            flood = count >= self.cap and query != _TOTAL_KEY
            if now - counted <= (self._flood_keep_seconds if flood else self._keep_seconds):
                return count
        if query == _TOTAL_KEY:
            ((total,),) = fetch(conn, _TOTAL, {})
            count = int(total)
        else:
            params = {"match": query, "cap": self.cap}
            ((count,),) = fetch(conn, self._count, params)
        with self._lock:
            self._entries[query] = (now, count)
            self._entries.move_to_end(query)
            while len(self._entries) > self._kept:
                self._entries.popitem(last=False)
        return count
