"""API keys in the reference's exact format, so keys moved from a reference database still work:
``cqa.v1.<32-hex id>.<52-char base32 secret>``, stored as HMAC-SHA256(pepper, secret)."""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

NAMESPACE = "cqa"
VERSION = "v1"
PREFIX_LENGTH = 8
_SECRET = re.compile(r"[a-z2-7]{52}")
_KEY_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class MintedKey:
    token: str
    prefix: str
    key_hash: str


@dataclass(frozen=True)
class PresentedKey:
    key_id: str
    secret: str


def hash_secret(pepper: str, secret: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def mint(pepper: str, key_id: str) -> MintedKey:
    secret = base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=").lower()
    return MintedKey(
        token=f"{NAMESPACE}.{VERSION}.{key_id}.{secret}",
        prefix=secret[:PREFIX_LENGTH],
        key_hash=hash_secret(pepper, secret),
    )


def parse(token: str) -> PresentedKey | None:
    """The parts of a well-formed token, or None."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != NAMESPACE or parts[1] != VERSION:
        return None
    if not _KEY_ID.fullmatch(parts[2]) or not _SECRET.fullmatch(parts[3]):
        return None
    return PresentedKey(key_id=parts[2], secret=parts[3])


def matches(pepper: str, secret: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(pepper, secret), key_hash)


# Which pepper hashed a set of keys, told without revealing it: an HMAC of this fixed label.
_FINGERPRINT_LABEL = b"colloquy-pepper-fingerprint"
FINGERPRINT_LENGTH = 16
FINGERPRINT = re.compile(rf"[0-9a-f]{{{FINGERPRINT_LENGTH}}}")


def pepper_fingerprint(pepper: str) -> str:
    """A short keyed hash of the pepper (64 bits): exports carry it, so an import can tell that
    its keys were hashed under another pepper and will be refused."""
    digest = hmac.new(pepper.encode(), _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_LENGTH]


def same_pepper(pepper: str, fingerprint: str) -> bool:
    return hmac.compare_digest(pepper_fingerprint(pepper), fingerprint)
