"""The approved units of the largest domains, as of lately: they order a ranked query's
bounds (``bounds.hit_allowance``) and tell dense domains (``Planner``).

Re-read now and then, for the largest domains only: a stale or missing size costs speed, never
correctness. Each store owns one, so that stores (and tests) never share sizes.
"""

import math
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.engine import Connection

from colloquy.store import tables as t


class DomainSizes:
    """Approved units per domain, for the ``kept`` largest domains, re-read once the last read
    is more than ``refresh_seconds`` old by ``clock``."""

    def __init__(
        self,
        kept: int = 1_000,
        refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        d = t.domain_counts.c
        self._largest = (
            select(d.domain, d.approved).order_by(d.approved.desc(), d.domain.desc()).limit(kept)
        )
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._sizes: Mapping[str, int] = MappingProxyType({})
        self._read_at = -math.inf
        # Held by the one reader thread that re-reads the sizes; the others meanwhile use the
        # sizes they find (a stale size costs speed only), rather than wait or read them too.
        self._refreshing = threading.Lock()

    def read(self, conn: Connection) -> Mapping[str, int]:
        """The sizes, read on ``conn`` if they are due."""
        if self._clock() - self._read_at > self._refresh_seconds and self._refreshing.acquire(
            blocking=False
        ):
            try:
                rows = conn.execute(self._largest)
                self._sizes = MappingProxyType({domain: n for domain, n in rows})
                self._read_at = self._clock()
            finally:
                self._refreshing.release()
        return self._sizes
