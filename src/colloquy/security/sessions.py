"""Session tokens: HS256 JWTs as the reference issues them, plus a token id (``jti``) so that
signing out revokes them, and the user's session generation (``gen``) so that a password reset
or role change ends them all."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from colloquy.domain.normalize import new_token_id

ALGORITHM = "HS256"
# The database keeps generations in a 32-bit integer.
MAX_GENERATION = 2**31 - 1


@dataclass(frozen=True)
class SessionClaims:
    username: str
    token_id: str
    expires_at: datetime
    user_id: int | None
    """Set on colloquy's tokens, so that a later user of the same name is someone else."""
    generation: int
    """The user's session generation at sign-in (0 on a reference server's tokens): a password
    reset or role change bumps it, ending older sessions even within the same second."""


def issue(
    secret: str, username: str, user_id: int, generation: int, ttl: timedelta, now: datetime
) -> str:
    claims = {
        "sub": username,
        "uid": user_id,
        "gen": generation,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": new_token_id(),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str) -> SessionClaims | None:
    """The claims of a valid token, or None. ``exp`` and ``sub`` are required."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    username = claims.get("sub")
    if not isinstance(username, str) or not username:
        return None
    token_id = claims.get("jti")
    # Tokens minted by a reference server carry no jti; they cannot be revoked one by one.
    if not isinstance(token_id, str):
        token_id = ""
    user_id = claims.get("uid")
    generation = claims.get("gen", 0)
    if type(generation) is not int or not 0 <= generation <= MAX_GENERATION:
        return None
    return SessionClaims(
        username=username,
        token_id=token_id,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        user_id=user_id if isinstance(user_id, int) else None,
        generation=generation,
    )
