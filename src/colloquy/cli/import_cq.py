"""``colloquy import-cq SOURCE``: move a cq reference server's data into this server."""

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from colloquy.cli.commands import _fail, _settings, _with_services, app
from colloquy.cli.options import flags
from colloquy.cli.progress import progress
from colloquy.domain.models import Role
from colloquy.services import import_cq
from colloquy.store.cq_reference import CqReference, NotAReferenceDatabase
from colloquy.store.factory import describe_error, safe_url
from colloquy.wiring import Services

PEPPER_NOTE = (
    "note: CQ_API_KEY_PEPPER is not set, so this server hashes keys with a pepper it generated; "
    "the imported API keys are refused until CQ_API_KEY_PEPPER is the reference server's "
    "(users and units are not affected)"
)


@app.command("import-cq")
def import_cq_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="The reference server's SQLite file, or its postgresql:// URL (read-only).",
        ),
    ],
    admin: Annotated[
        list[str] | None,
        typer.Option(
            "--admin",
            metavar="NAME",
            help="Make this reference user an admin (repeatable). Default: the reference's "
            "first user, when this server has no admin yet.",
        ),
    ] = None,
    role: Annotated[
        Role, typer.Option("--role", help="Role of every other imported user.")
    ] = Role.REVIEWER,
) -> None:
    """Import a cq reference server's users (passwords keep working), API keys (while
    CQ_API_KEY_PEPPER is the same) and units with their review state, evidence and flags.
    What exists here already is left alone, so running it twice adds nothing."""
    settings = _settings(ctx)
    pepper_given = flags(ctx).settings().api_key_pepper is not None
    plan = import_cq.RolePlan(admins=frozenset(admin or ()), others=role)
    shown = safe_url(source) if "://" in source else source  # never a password

    async def work(s: Services) -> import_cq.CqImportReport:
        async with reference:
            counts = await reference.counts()
            total = counts.users + counts.keys + counts.units
            with progress(total, "importing from cq", enabled=True) as advance:
                return await import_cq.import_cq(reference, s.store, plan, advance)

    try:
        # Before this server's database is touched: a missing file or a bad URL fails here.
        reference = CqReference(source)
        report = _with_services(settings, work)
    except (NotAReferenceDatabase, import_cq.ImportRefused) as exc:
        _fail(f"{shown}: {exc}")
    except (OSError, SQLAlchemyError) as exc:
        _fail(f"cannot read {shown}: {describe_error(exc)}")
    for line in report.lines():
        typer.echo(line)
    if report.summary.read["api_key"] and not pepper_given:
        typer.echo(PEPPER_NOTE, err=True)
