"""Password hashing: argon2id, off the event loop; bcrypt hashes from a reference database
still verify (and the caller re-hashes them).

Each argon2id hash takes 64 MiB and a few cores for a good part of a second. Hashes run in
a pool of ``HASHING_SLOTS`` threads per process and the rest wait their turn, so a flood of
sign-ins queues instead of holding 64 MiB per request. The pool's threads (and the threads
argon2 starts from them) run at a lower CPU priority, so that hashing never starves the event
loop: under a flood a sign-in waits a little longer, every other request does not.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Longer passwords are refused as wrong without hashing: bounded work per login.
MAX_PASSWORD_LENGTH = 1024

# Hashes in flight per process: two keep a small machine's cores busy; more only add memory.
HASHING_SLOTS = 2
# The hashing threads' niceness (0 is normal, 19 the lowest priority).
HASHING_NICENESS = 10

T = TypeVar("T")


def _lower_priority() -> None:
    # Linux keeps a niceness per thread; elsewhere the hashing threads keep the usual one.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(
    HASHING_SLOTS, thread_name_prefix="colloquy-hashing", initializer=_lower_priority
)
# Verified against when the user does not exist, so that timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("colloquy-dummy-password")


def _verify(password_hash: str, password: str) -> bool:
    if password_hash.startswith("$2"):
        try:
            return bcrypt.checkpw(password.encode(), password_hash.encode())
        except ValueError:
            return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def _in_slot(work: Callable[..., T], *args: str) -> T:
    """``work(*args)`` in a hashing thread, once one is free (dropped if the caller gives up
    while it waits)."""
    return await asyncio.get_running_loop().run_in_executor(_pool, work, *args)


async def hash_password(password: str) -> str:
    return await _in_slot(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; ``None`` (no such user) costs the same and is False."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    if password_hash is None:
        await _in_slot(_verify, _DUMMY_HASH, password)
        return False
    return await _in_slot(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return password_hash.startswith("$2") or _hasher.check_needs_rehash(password_hash)
