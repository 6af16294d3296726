"""The dialect-neutral Store implementation, shared by the SQLite and PostgreSQL backends.

``SqlStore`` is the flat ``Store`` protocol over repositories, one per area, each built on the
one ``Database`` (``database``: engines, reads, the rule for writes). A new store method goes
into the protocol and into the repository of its area, and is listed here; a difference between
backends goes into ``Dialect`` (``dialects``), never into a repository as a test of the backend.
"""

from colloquy.store.sql.accounts import AccountRepository
from colloquy.store.sql.aliases import AliasRepository
from colloquy.store.sql.archive import ArchiveRepository
from colloquy.store.sql.audit import AuditRepository
from colloquy.store.sql.database import Database
from colloquy.store.sql.embeddings import EmbeddingRepository
from colloquy.store.sql.neighbours import NeighbourRepository
from colloquy.store.sql.quarantine import QuarantineRepository
from colloquy.store.sql.ranking import DomainSizes, Planner
from colloquy.store.sql.ranking.hybrid import AliasSource, HybridRanker
from colloquy.store.sql.review import ReviewRepository
from colloquy.store.sql.setup import SetupRepository
from colloquy.store.sql.throttle import ThrottleRepository
from colloquy.store.sql.units import UnitRepository

__all__ = ["SqlStore"]

# Frozen, so one serves every store.
DEFAULT_PLANNER = Planner()
DEFAULT_HYBRID = HybridRanker()


class SqlStore:
    """Store over SQLAlchemy Core; see ``store.protocol.Store`` for the contract. Each method
    is its repository's own (bound here once), so a call costs what a method call costs."""

    def __init__(
        self,
        database: Database,
        planner: Planner = DEFAULT_PLANNER,
        domain_sizes: DomainSizes | None = None,
        hybrid: HybridRanker = DEFAULT_HYBRID,
        aliases: AliasSource | None = None,
    ) -> None:
        """``planner``, ``domain_sizes`` and ``hybrid`` tune the ranked query (``ranking``);
        each store keeps its own domain sizes unless given some. ``aliases`` gives the alias
        table of hybrid ranking: by default the stored one that admins edit."""
        self.database = database
        """Below the seam only: for the backends' tools and the tests that look inside."""
        counters = database.counters

        self.ping = database.ping
        self.close = database.close

        alias_table = AliasRepository(database)
        self.list_aliases = alias_table.list_aliases
        self.add_alias = alias_table.add_alias
        self.remove_alias = alias_table.remove_alias
        self.current_aliases = alias_table.current
        """Below the seam: the alias table as hybrid ranking reads it, ``(conn) ->
        Aliases`` from a copy at most a few seconds old (``sql.aliases``)."""

        units = UnitRepository(
            database,
            counters,
            planner,
            domain_sizes or DomainSizes(),
            hybrid,
            aliases or alias_table.current,
        )
        self.insert_unit = units.insert_unit
        self.get_unit = units.get_unit
        self.get_approved = units.get_approved
        self.query = units.query
        self.ranked = units.ranked
        self.prepare_queries = units.prepare_queries
        self.page_units = units.page_units
        self.stats = units.stats
        self.confirm = units.confirm
        self.flag = units.flag

        review = ReviewRepository(database, counters)
        self.decide = review.decide
        self.pending_page = review.pending_page
        self.review_overview = review.review_overview
        self.history = review.history
        self.neighbours = NeighbourRepository(database, units.word_counts).neighbours

        accounts = AccountRepository(database)
        self.create_user = accounts.create_user
        self.get_user = accounts.get_user
        self.get_credential = accounts.get_credential
        self.list_users = accounts.list_users
        self.rehash_password = accounts.rehash_password
        self.update_user = accounts.update_user
        self.delete_user = accounts.delete_user
        self.revoke_session = accounts.revoke_session
        self.session_user = accounts.session_user
        self.create_api_key = accounts.create_api_key
        self.list_api_keys = accounts.list_api_keys
        self.revoke_api_key = accounts.revoke_api_key
        self.key_credential = accounts.key_credential
        self.touch_api_key = accounts.touch_api_key

        setup = SetupRepository(database)
        self.has_users = setup.has_users
        self.open_setup = setup.open_setup
        self.setup_token_hashes = setup.setup_token_hashes
        self.create_first_admin = setup.create_first_admin

        self.audit_page = AuditRepository(database).audit_page

        throttles = ThrottleRepository(database)
        self.count_attempt = throttles.count_attempt
        self.settle_attempt = throttles.settle_attempt

        archive = ArchiveRepository(database, counters)
        self.export_units = archive.export_units
        self.import_units = archive.import_units
        self.export_users = archive.export_users
        self.import_users = archive.import_users
        self.export_keys = archive.export_keys
        self.import_keys = archive.import_keys

        quarantine = QuarantineRepository(database, counters)
        self.check_units = quarantine.check_units
        self.quarantine_unit = quarantine.quarantine_unit

        embeddings = EmbeddingRepository(database)
        self.units_to_embed = embeddings.units_to_embed
        self.embedding_backlog = embeddings.embedding_backlog
        self.store_vectors = embeddings.store_vectors
        self.unit_vectors = embeddings.unit_vectors
