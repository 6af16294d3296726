"""Cookies and CSRF tokens of the dashboard.

The session is the API's own JWT, kept in an HttpOnly, SameSite=Strict cookie. Each form carries
a CSRF token: an HMAC of the session's token id under a key derived from the JWT secret, so it
needs no storage, differs per session and dies with it. The sign-in form, which has no session
yet, is bound the same way to a random nonce in a short-lived cookie.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from fastapi import Request, Response

SESSION_COOKIE = "cq_session"
NONCE_COOKIE = "cq_signin"
CSRF_FIELD = "csrf_token"
NONCE_TTL = timedelta(minutes=30)


class FormKeys:
    def __init__(self, jwt_secret: str) -> None:
        self._key = hmac.new(jwt_secret.encode(), b"colloquy web forms v1", hashlib.sha256).digest()

    def token(self, purpose: str, value: str) -> str:
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def check(self, purpose: str, value: str, presented: str | None) -> bool:
        if not value or not presented:
            return False
        return _same_text(self.token(purpose, value), presented)


def form_keys(request: Request) -> FormKeys:
    """The app's form keys, made once when the dashboard is installed."""
    return request.app.state.form_keys


def csrf_matches(presented: object, expected: str) -> bool:
    """Whether a submitted session CSRF token is the expected one (compared in constant time)."""
    return isinstance(presented, str) and _same_text(presented, expected)


def _same_text(expected: str, presented: str) -> bool:
    """Constant-time equality of any two strings: ``compare_digest`` refuses non-ASCII text
    with a ``TypeError``, and a form field can hold anything."""
    return hmac.compare_digest(expected.encode(), presented.encode())


def session_binding(token_id: str, raw_token: str) -> str:
    """What a session's CSRF token is bound to: its ``jti`` (or a hash of a jti-less token)."""
    return token_id or hashlib.sha256(raw_token.encode()).hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max(max_age, 0),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )
