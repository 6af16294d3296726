"""The dialect-neutral Store implementation, shared by the SQLite and PostgreSQL backends."""

from colloquy.store.sql.accounts import AccountStore
from colloquy.store.sql.archive import ArchiveStore
from colloquy.store.sql.audit import AuditStore
from colloquy.store.sql.base import InsertFactory
from colloquy.store.sql.health import HealthStore
from colloquy.store.sql.quarantine import QuarantineStore
from colloquy.store.sql.review import ReviewStore
from colloquy.store.sql.throttle import ThrottleStore
from colloquy.store.sql.units import UnitStore

__all__ = ["InsertFactory", "SqlStore"]


class SqlStore(
    UnitStore,
    ReviewStore,
    AccountStore,
    ArchiveStore,
    AuditStore,
    QuarantineStore,
    HealthStore,
    ThrottleStore,
):
    """Store over SQLAlchemy Core; see ``store.protocol.Store`` for the contract."""
