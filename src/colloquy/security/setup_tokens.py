"""The one-time setup token that lets whoever reads the server's log create the first admin.

It is 32 random bytes (``secrets.token_urlsafe``); only its SHA-256 is stored. A plain hash is
enough: a token this long cannot be found by hashing guesses, unlike a password.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

TOKEN_BYTES = 32
# ``token_urlsafe(32)`` is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 64


@dataclass(frozen=True)
class SetupToken:
    token: str
    token_hash: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()


def mint() -> SetupToken:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return SetupToken(token=token, token_hash=digest(token))


def find(presented: str, stored: Sequence[str]) -> str | None:
    """The stored hash that ``presented`` hashes to, or None; every stored hash is compared in
    constant time, and all of them whatever matches, so timing tells nothing about any."""
    if not presented or len(presented) > MAX_TOKEN_LENGTH:
        return None
    presented_hash = digest(presented).encode()
    found = None
    for token_hash in stored:
        if hmac.compare_digest(presented_hash, token_hash.encode()):
            found = token_hash
    return found
