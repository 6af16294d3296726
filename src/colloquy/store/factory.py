"""Open the Store that a database URL names; accepts the URL spellings deployments use."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from colloquy.store.postgres import PostgresStore
from colloquy.store.protocol import Store
from colloquy.store.sqlite import SqliteStore

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class UnsupportedDatabase(ValueError):
    """A database URL colloquy cannot use; the message says what to set instead."""


@dataclass(frozen=True)
class PoolSettings:
    size: int = 10
    timeout: float = 10.0
    connect_timeout: float = 10.0
    # SQLite's reader threads; None: ``SqliteStore``'s default.
    readers: int | None = None


def async_url(url: str, setting: str = "CQ_DATABASE_URL") -> str:
    """The URL with colloquy's async driver: ``postgresql://``, ``postgresql+psycopg://`` and
    ``postgresql+asyncpg://`` all become asyncpg; any ``sqlite`` URL becomes aiosqlite. An
    unusable URL is refused naming ``setting``, where it came from (a variable or a flag)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabase(
            f"{setting} is not a database URL; expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise UnsupportedDatabase(
            f"unsupported database {backend!r} in {setting}; "
            "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    return parsed.set(drivername=_DRIVERS[backend]).render_as_string(hide_password=False)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def connect_args(url: str, timeout: float = PoolSettings.connect_timeout) -> dict[str, Any]:
    """Driver options for one-off connections (migrations), bounded like the pool's."""
    return {"timeout": timeout} if is_postgres(url) else {}


def describe_error(exc: BaseException) -> str:
    """One line about why a database could not be used, without SQL or credentials."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


def open_store(url: str, pool: PoolSettings | None = None) -> Store:
    url = async_url(url)
    pool = pool or PoolSettings()
    if is_postgres(url):
        return PostgresStore(url, pool.size, pool.timeout, pool.connect_timeout)
    return SqliteStore(url, pool.readers)
