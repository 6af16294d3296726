"""Service errors: each carries the HTTP status and the ``detail`` the wire spec gives it."""

from collections.abc import Iterator
from contextlib import contextmanager

from colloquy.domain.bounds import BoundError


class ServiceError(Exception):
    status_code = 400
    detail = "Bad request"
    headers: dict[str, str] = {}  # noqa: RUF012 - never changed in place

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail


class InvalidCredentials(ServiceError):
    status_code = 401
    detail = "Invalid username or password"


class InvalidApiKey(ServiceError):
    status_code = 401
    detail = "Invalid API key"


class InvalidToken(ServiceError):
    status_code = 401
    detail = "Invalid or expired token"


class ApiKeyNotSession(InvalidToken):
    """An agent's key on a route for people (review, users, keys): say which token it wants."""

    detail = (
        "An API key cannot be used here: sign in with POST /api/v1/auth/login "
        "and send the session token it returns"
    )


class MissingAuthorization(ServiceError):
    status_code = 401
    detail = "Missing or invalid authorization header"


class Forbidden(ServiceError):
    status_code = 403
    detail = "Your role does not allow this"


class InvalidDomain(ServiceError):
    status_code = 422
    detail = "At least one non-empty domain is required"


class InvalidInput(ServiceError):
    status_code = 422


@contextmanager
def bounded() -> Iterator[None]:
    """An input that breaks a bound (``domain.bounds``) as the 422 callers answer."""
    try:
        yield
    except BoundError as exc:
        raise InvalidInput(str(exc)) from exc


class UnitNotFound(ServiceError):
    status_code = 404
    detail = "Knowledge unit not found"


class AlreadyReviewed(ServiceError):
    status_code = 409

    def __init__(self, status: str) -> None:
        super().__init__(f"Knowledge unit already {status}")


class KeyLimit(ServiceError):
    status_code = 409

    def __init__(self, limit: int) -> None:
        super().__init__(f"Maximum of {limit} active API keys per user")


class KeyNotFound(ServiceError):
    status_code = 404
    detail = "API key not found"


class UserNotFound(ServiceError):
    """The API answers the wire spec's detail; the command line names ``username``."""

    status_code = 404
    detail = "User not found"

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username


class UserExists(ServiceError):
    status_code = 409
    detail = "A user with that name already exists"


class LastAdminRemoval(ServiceError):
    status_code = 409
    detail = "The last admin cannot be demoted or deleted; make another user an admin first"


class Throttled(ServiceError):
    """Too many attempts or writes: the caller may try again after ``retry_after`` seconds."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class AliasNotFound(ServiceError):
    status_code = 404
    detail = "Alias not found"


class AliasConflict(ServiceError):
    """The stored aliases refuse the new one (it exists, would make a chain, or the table is
    full)."""

    status_code = 409


class InvalidSetupToken(ServiceError):
    status_code = 403
    detail = "This setup link is not valid; use the one the server printed at start"


class SetupDone(ServiceError):
    status_code = 404
    detail = "Setup is done: an account exists already"
