"""Open the Store that a database URL names."""

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from colloquy.store.protocol import Store
from colloquy.store.sqlite import SqliteStore


class UnsupportedDatabase(ValueError):
    """A database URL colloquy cannot use; the message says what to set instead."""


def backend_of(url: str) -> str:
    try:
        name = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise UnsupportedDatabase(
            "CQ_DATABASE_URL is not a database URL; expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST/DB"
        ) from exc
    if name not in ("sqlite",):
        raise UnsupportedDatabase(
            f"unsupported database {name!r} in CQ_DATABASE_URL; use sqlite:///PATH"
        )
    return name


def open_store(url: str) -> Store:
    backend_of(url)
    return SqliteStore(url)


def async_url(url: str) -> str:
    """The URL with colloquy's async driver for its backend."""
    backend_of(url)
    return make_url(url).set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
