"""What the migration tests share: alembic run on an open connection, the revision a migration
follows once the migrations are chained, and the names a schema holds."""

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from colloquy.store import migrate


def revision_before(revision: str) -> str:
    """The revision ``revision`` follows (its ``down_revision``)."""
    script = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision)
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


def run_alembic(connection: Connection, action: str, revision: str) -> None:
    """``upgrade`` or ``downgrade`` to ``revision`` inside the caller's connection."""
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def column_names(connection: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns(table)}
