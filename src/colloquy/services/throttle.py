"""Sign-in throttling and per-key write rate limits: the rules, over the store's throttles
(kept in the database, so every worker and replica shares them).

Sign-ins are counted per username and per client address. Each attempt is counted as a
failure before the password is even looked at (so that simultaneous attempts all count and a
refused one costs no hashing) and settled when it succeeds. The numbers:

* A username gets ``free`` failures (5 by default: a person who mistypes never waits), then
  each failure makes the next attempt wait 1 s, 2 s, 4 s ... up to 5 minutes. An online guesser
  then gets about a dozen tries an hour per account, while the owner, if someone else is
  guessing, is locked out for 5 minutes at most after the last failure. A success clears it.
* A client address gets more (20 by default: an office behind one address shares them), then
  waits of 1 s doubling up to an hour. This is what stops one address spraying many usernames;
  and an address that must wait does not count against the username, so one address cannot
  keep a real user locked out: it soon spends most of its time waiting, harmless. A success
  takes its own attempt back from the address, so sign-ins that work never add up.
* Failures are forgotten after an hour without any.

IPv6 clients are counted per /64 network, the block one host can usually choose from.
"""

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum

from colloquy.clock import now
from colloquy.services.errors import Throttled
from colloquy.store.protocol import (
    Allowance,
    AllowanceSpent,
    Backoff,
    RateLimit,
    Store,
    ThrottleKey,
)

FIRST_WAIT = timedelta(seconds=1)
USERNAME_MAX_WAIT = timedelta(minutes=5)
ADDRESS_MAX_WAIT = timedelta(hours=1)
FORGET_AFTER = timedelta(hours=1)
RATE_WINDOW = timedelta(minutes=1)
IPV6_PREFIX = 64


class WriteAction(StrEnum):
    PROPOSE = "propose"
    CONFIRM = "confirm"
    FLAG = "flag"


_NOUNS = {
    WriteAction.PROPOSE: "proposals",
    WriteAction.CONFIRM: "confirmations",
    WriteAction.FLAG: "flags",
}


def throttled(what: str, wait: timedelta) -> Throttled:
    """429 for ``wait``, in whole seconds rounded up (``Retry-After``), at least 1."""
    seconds = max(math.ceil(wait.total_seconds()), 1)
    unit = "second" if seconds == 1 else "seconds"
    return Throttled(f"{what} Try again in {seconds} {unit}.", seconds)


def client_network(host: str | None) -> str:
    """The address a client is counted by: itself, or its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


class LoginThrottle:
    """Growing waits after failed sign-ins, per username and per client address."""

    def __init__(
        self, store: Store, secret: str, free_per_user: int, free_per_address: int
    ) -> None:
        self._store = store
        self._secret = secret.encode()
        self._user = Backoff(free_per_user, FIRST_WAIT, USERNAME_MAX_WAIT, FORGET_AFTER)
        self._address = Backoff(free_per_address, FIRST_WAIT, ADDRESS_MAX_WAIT, FORGET_AFTER)

    def _keys(self, username: str, address: str | None) -> tuple[ThrottleKey, ThrottleKey]:
        """The address's key and the username's. Names are kept as keyed digests: what was
        typed as a username (sometimes a password) never reaches the database."""

        def key(scope: str, name: str) -> ThrottleKey:
            digest = hmac.new(self._secret, name.encode(errors="surrogatepass"), hashlib.sha256)
            return ThrottleKey(scope, digest.hexdigest())

        return key("login-address", client_network(address)), key("login-user", username)

    async def admit(self, username: str, address: str | None) -> None:
        """Count this sign-in attempt, or raise ``Throttled`` if it must wait."""
        by_address, by_user = self._keys(username, address)
        wait = await self._store.count_attempt(
            [(by_address, self._address), (by_user, self._user)], now()
        )
        if wait is not None:
            raise throttled("Too many failed sign-ins.", wait)

    async def succeeded(self, username: str, address: str | None) -> None:
        by_address, by_user = self._keys(username, address)
        await self._store.settle_attempt(cleared=[by_user], refunded=[by_address])

    def _setup_key(self, address: str | None) -> ThrottleKey:
        digest = hmac.new(self._secret, client_network(address).encode(), hashlib.sha256)
        return ThrottleKey("setup-address", digest.hexdigest())

    async def admit_setup(self, address: str | None) -> None:
        """Count an attempt at the setup token, per client address only (the token has no
        owner to lock out), with the address rule of sign-ins; or raise ``Throttled``."""
        wait = await self._store.count_attempt([(self._setup_key(address), self._address)], now())
        if wait is not None:
            raise throttled("Too many wrong setup links.", wait)

    async def setup_succeeded(self, address: str | None) -> None:
        await self._store.settle_attempt(cleared=[], refunded=[self._setup_key(address)])


class WriteLimits:
    """Writes per minute per API key, so that a runaway agent cannot flood the review queue.
    The allowance is spent by the write itself, in its own transaction (``allowed``)."""

    def __init__(self, per_minute: dict[WriteAction, int]) -> None:
        self._limits = {
            action: RateLimit(limit, RATE_WINDOW) for action, limit in per_minute.items() if limit
        }

    def allowance(self, action: WriteAction, key_id: str) -> Allowance | None:
        """What a write of ``action`` with the key spends (``None``: the action is unlimited)."""
        limit = self._limits.get(action)
        return None if limit is None else Allowance(ThrottleKey(action.value, key_id), limit)


@contextmanager
def allowed(allowance: Allowance | None) -> Iterator[None]:
    """Around a write that spends ``allowance``: ``Throttled`` when it is spent."""
    try:
        yield
    except AllowanceSpent as spent:
        assert allowance is not None  # only a write with an allowance is refused for it
        noun = _NOUNS[WriteAction(allowance.key.scope)]
        raise throttled(
            f"Too many {noun} with this API key (at most {allowance.limit.limit} a minute).",
            spent.wait,
        ) from None
