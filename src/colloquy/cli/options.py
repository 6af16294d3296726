"""The options every command takes (``--data-dir``, ``--database-url``, ``--db-readers``),
declared once: on the root (``colloquy --data-dir X user list``), and accepted after the
command's name too (``colloquy user list --data-dir X``), where scripts have always given them."""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand
from typer.models import CommandFunctionType

from colloquy.config import MAX_DB_READERS, Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="CQ_DATA_DIR",
        help="Data directory.",
        show_default="$XDG_DATA_HOME/colloquy, else ~/.local/share/colloquy",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="CQ_DATABASE_URL",
        help="Database URL (wins over CQ_DB_PATH).",
        show_default="SQLite: CQ_DB_PATH, else colloquy.db in the data directory",
    ),
]
DbReaders = Annotated[
    int | None,
    typer.Option(
        "--db-readers",
        envvar="CQ_DB_READERS",
        min=1,
        max=MAX_DB_READERS,
        help="SQLite reader threads, each with its own connection.",
        show_default="one per core, at least 2 and at most 4",
    ),
]


class Flags:
    """The settings given as flags on the command line, kept in the typer context.

    Only flags are kept: the environment is read by ``Settings`` itself (the same ``CQ_*``
    names), so a flag wins over a variable wherever it is given, and a flag given after the
    command wins over the same flag given before it.
    """

    def __init__(self) -> None:
        self.given: dict[str, Any] = {}

    def take(self, ctx: typer.Context, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            source = ctx.get_parameter_source(name)
            # By name: typer carries its own copy of click, whose enum it does not export.
            if source is not None and source.name == "COMMANDLINE":
                self.given[name] = value

    def name_of(self, field: str) -> str:
        """What the user set ``field`` with, for messages: its flag when given on the command
        line, else its variable."""
        return f"--{field.replace('_', '-')}" if field in self.given else f"CQ_{field.upper()}"

    def settings(self, **flags: Any) -> Settings:
        """The environment's settings under the flags given, and ``flags`` (a command's own,
        such as ``serve --host``; ``None`` for one not given); ``ValueError`` if invalid."""
        given = {name: value for name, value in flags.items() if value is not None}
        return Settings(**(self.given | given))


def flags(ctx: typer.Context) -> Flags:
    """This invocation's flags (set up by the root callback, shared by every command)."""
    return ctx.ensure_object(Flags)


def take_root_options(
    ctx: typer.Context,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    db_readers: DbReaders = None,
) -> None:
    """The root callback: keep the options given before the command."""
    flags(ctx).take(
        ctx, {"data_dir": data_dir, "database_url": database_url, "db_readers": db_readers}
    )


def _root_options(ctx: typer.Context) -> list[Any]:
    """The root's own options: those its callback takes (typer's completion options take no
    value, so they stay on the root alone)."""
    root = ctx.find_root()
    return [] if root is ctx else [p for p in root.command.params if p.expose_value]


class AcceptsRootOptions(TyperCommand):
    """A command that also accepts the root's options after its name, listed in its help."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        params = super().get_params(ctx)
        own = len(self.params)  # then typer's --help
        return [*params[:own], *_root_options(ctx), *params[own:]]

    def invoke(self, ctx: typer.Context) -> Any:
        # The command's function does not take them: they go to the flags, not to it.
        root_values = {p.name: ctx.params.pop(p.name, None) for p in _root_options(ctx) if p.name}
        flags(ctx).take(ctx, root_values)
        return super().invoke(ctx)


class App(typer.Typer):
    """A typer app whose commands accept the root options too (``AcceptsRootOptions``)."""

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", AcceptsRootOptions)
        return super().command(*args, **kwargs)
