"""Throttles: failed sign-ins with growing waits, and per-key write allowances (spent inside
the write they allow: ``Allowances``).

Each check-and-count is one conditional upsert (``ON CONFLICT DO UPDATE ... WHERE`` the
subject may go ahead, ``RETURNING`` only then), so concurrent attempts from every process count
exactly and a refused one changes nothing; a failure that starts a wait then sets it on the row
its transaction holds. Times are epoch microseconds (see ``tables``)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, case, delete, select, tuple_, update
from sqlalchemy.engine import Connection

from colloquy.store import tables as t
from colloquy.store.protocol import Allowance, Backoff, ThrottleKey
from colloquy.store.sql.database import Database
from colloquy.store.sql.dialects import InsertFactory
from colloquy.store.sql.driver_statements import fetch

# Expired rows deleted per sign-in attempt: a bounded amount of work that still outpaces the
# rate at which any attacker can create rows.
EXPIRED_BATCH = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

_th = t.throttles.c


def _us_param(name: str) -> Any:
    return bindparam(name, type_=BigInteger)


_now = _us_param("now")
_KEY = and_(_th.scope == bindparam("k_scope"), _th.subject == bindparam("k_subject"))
_UNTIL = select(_th.until_us).where(_KEY)
_SPENT = select(_th.until_us, _th.expires_us).where(_KEY)
_SET_WAIT = (
    update(t.throttles)
    .where(_KEY)
    .values(until_us=_us_param("until"), expires_us=_us_param("expires"))
)
_REFUND = update(t.throttles).where(_KEY, _th.count > 0).values(count=_th.count - 1)
_CLEAR = delete(t.throttles).where(_KEY)
# Never waits for a row another transaction holds, so it can take part in no deadlock.
_EXPIRED = (
    select(_th.scope, _th.subject)
    .where(_th.expires_us < _now)
    .limit(EXPIRED_BATCH)
    .with_for_update(skip_locked=True)
)
_DELETE_EXPIRED = delete(t.throttles).where(tuple_(_th.scope, _th.subject).in_(_EXPIRED))


def epoch_us(at: datetime) -> int:
    return (at - EPOCH) // MICROSECOND


def _us(span: timedelta) -> int:
    return math.ceil(span / MICROSECOND)


def _key(key: ThrottleKey) -> dict[str, Any]:
    return {"k_scope": key.scope, "k_subject": key.subject}


def _count_statement(upsert: InsertFactory) -> Any:
    """Count a failure unless the subject must wait (then no row); failures are forgotten
    after a quiet spell."""
    stmt = upsert(t.throttles).values(
        scope=bindparam("k_scope"),
        subject=bindparam("k_subject"),
        count=1,
        # No wait yet. Not ``now``: an attempt that took its time a moment before this
        # one but reaches the row after it would be refused for no wait at all.
        until_us=0,
        expires_us=_us_param("forgotten"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["scope", "subject"],
        set_={
            "count": case((_th.expires_us <= _now, 1), else_=_th.count + 1),
            "expires_us": _us_param("forgotten"),
        },
        where=_th.until_us <= _now,
    ).returning(_th.count)


def _take_statement(upsert: InsertFactory) -> Any:
    """Spend one interval of the allowance unless it is already spent more than the window
    less one interval ahead of the request's time (then no row).

    Requests take their time before they queue for the row, so they may reach it out of
    order. Each is timed no earlier than the latest request the row has counted (kept as
    ``expires_us`` less the window, which is never before the time it is spent up to), so that
    one timed a moment before the others is not refused for the moment between them."""
    window = _us_param("window")
    seen = _th.expires_us - window
    at = case((seen > _now, seen), else_=_now)
    spent = case((_th.until_us > at, _th.until_us), else_=at) + _us_param("interval")
    stmt = upsert(t.throttles).values(
        scope=bindparam("k_scope"),
        subject=bindparam("k_subject"),
        count=0,
        until_us=_now + _us_param("interval"),
        expires_us=_now + window,
    )
    return stmt.on_conflict_do_update(
        index_elements=["scope", "subject"],
        set_={"until_us": spent, "expires_us": at + window},
        where=_th.until_us <= at + window - _us_param("interval"),
    ).returning(_th.until_us)


class ThrottleRepository:
    """Sign-in failures and write allowances, counted by every process on the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Built once per store: the upsert is the dialect's own.
        self._count_stmt = _count_statement(db.dialect.upsert)

    async def count_attempt(
        self, keys: Sequence[tuple[ThrottleKey, Backoff]], at: datetime
    ) -> timedelta | None:
        now = epoch_us(at)

        def purge(conn: Connection) -> None:
            conn.execute(_DELETE_EXPIRED, {"now": now})

        def count(conn: Connection) -> timedelta | None:
            for key, backoff in keys:
                wait = self._count_failure(conn, key, backoff, now)
                if wait is not None:
                    return wait
            return None

        # Apart, so that the purge's row locks never meet the counting's.
        await self._db.write(purge)
        return await self._db.write(count)

    def _count_failure(
        self, conn: Connection, key: ThrottleKey, backoff: Backoff, now: int
    ) -> timedelta | None:
        forget = _us(backoff.forget_after)
        values = _key(key) | {"now": now, "forgotten": now + forget}
        failures = conn.execute(self._count_stmt, values).scalar_one_or_none()
        if failures is None:
            until = conn.execute(_UNTIL, _key(key)).scalar_one()
            return timedelta(microseconds=max(until - now, 1))
        wait = _us(backoff.wait(failures))
        if wait:
            values = {"until": now + wait, "expires": now + wait + forget}
            conn.execute(_SET_WAIT, _key(key) | values)
        return None

    async def settle_attempt(
        self, cleared: Sequence[ThrottleKey], refunded: Sequence[ThrottleKey]
    ) -> None:
        def settle(conn: Connection) -> None:
            for key in refunded:
                conn.execute(_REFUND, _key(key))
            for key in cleared:
                conn.execute(_CLEAR, _key(key))

        await self._db.write(settle)


@dataclass(frozen=True, slots=True)
class Refused:
    """A write job's answer when its allowance is spent: how long until there is one. Returned
    by the job, not raised in it: it wrote nothing and must not fail a group commit."""

    wait: timedelta


class Allowances:
    """Spends write allowances inside a write job (``take``), in the dialect's upsert; a write
    that runs as one statement spends it there (``statement``, ``values``, ``wait``)."""

    def __init__(self, upsert: InsertFactory) -> None:
        self.statement = _take_statement(upsert)
        """Spends one request (with ``values``), returning a row only when it was spent."""

    def take(self, conn: Connection, allowance: Allowance, at: datetime) -> timedelta | None:
        """Take one request from the allowance: ``None``, or how long until there is one
        (nothing is taken then). Run it first in the job: the throttle row comes first in the
        lock order (``database``)."""
        values = self.values(allowance, at)
        # On the driver's cursor (``driver_statements``): every allowed write runs it.
        if fetch(conn, self.statement, values):
            return None
        return self.wait(conn, values)

    @staticmethod
    def values(allowance: Allowance, at: datetime) -> dict[str, Any]:
        """The bind values of ``statement`` for one request of ``allowance`` at ``at``."""
        limit = allowance.limit
        now = epoch_us(at)
        window = _us(limit.window)
        # Each request spends one interval of the window; requests may run ahead of time by
        # up to the window less one interval (a burst of ``limit`` at once).
        interval = max(window // limit.limit, 1)
        return _key(allowance.key) | {"now": now, "interval": interval, "window": window}

    @staticmethod
    def wait(conn: Connection, values: dict[str, Any]) -> timedelta:
        """How long until the allowance that ``statement`` with ``values`` refused has one."""
        key = {"k_scope": values["k_scope"], "k_subject": values["k_subject"]}
        until, expires = conn.execute(_SPENT, key).one()
        at = max(values["now"], expires - values["window"])
        return timedelta(microseconds=max(until - (at + values["window"] - values["interval"]), 1))
