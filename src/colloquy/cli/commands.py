"""The commands: each takes the shared options (``cli.options``) and works through the same
services as the API."""

import asyncio
import getpass
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import asyncpg
import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from colloquy import logs
from colloquy.asgi import AppFactory
from colloquy.cli import first_start
from colloquy.cli.listen import listen_problem
from colloquy.cli.options import App, flags, take_root_options
from colloquy.cli.progress import progress, progress_bar
from colloquy.clock import iso
from colloquy.config import Settings, ensure_secrets
from colloquy.domain.models import Role
from colloquy.semantic import INSTALL_HINT, SemanticUnavailable, installed, load_embedder
from colloquy.services import archive, doctor
from colloquy.services.errors import ServiceError, UserNotFound
from colloquy.store import backup as sqlite_backup
from colloquy.store import migrate
from colloquy.store.factory import (
    UnsupportedDatabase,
    async_url,
    describe_error,
    open_store,
    safe_url,
)
from colloquy.store.protocol import StoreFault, UnitFinding
from colloquy.supervisor import Supervisor
from colloquy.wiring import Services, build_services, embedding_service, pool_settings

app = App(
    help="colloquy: a cq v1 knowledge-commons server.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.callback()(take_root_options)
user_app = App(
    help="Manage users: admins (manage users, review), reviewers (approve and reject) and "
    "members (hold API keys only: they propose, confirm and flag through agents).",
    no_args_is_help=True,
)
key_app = App(help="Manage API keys (agent credentials).", no_args_is_help=True)
alias_app = App(help="Manage tag aliases (k8s -> kubernetes) for ranking.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="key")
app.add_typer(alias_app, name="alias")

log = logging.getLogger("colloquy")
WORKER_STARTUP_SECONDS = 120
# Longer than the idle timeout of the usual proxies and load balancers (60 s), so that they, not
# colloquy, close an idle connection: a server closing one races the client's next request on
# it, which the client sees as a reset connection (and a load balancer answers 502).
KEEP_ALIVE_SECONDS = 75
T = TypeVar("T")


def _settings(ctx: typer.Context, secrets: bool = True, **own_flags: object) -> Settings:
    """The settings from the environment under the flags given (the shared ones and the
    command's ``own_flags``); with ``secrets``, the secrets filled in."""
    given = flags(ctx)
    try:
        settings = given.settings(**own_flags)
        # A URL no backend takes is refused by the name it was given as: flag or variable.
        async_url(settings.resolved_database_url(), given.name_of("database_url"))
        return ensure_secrets(settings) if secrets else settings
    except ValueError as exc:
        _fail(f"invalid setting: {exc}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _migrate(settings: Settings) -> None:
    """Migrate, or exit with one line that says what is wrong with the database."""
    url = settings.resolved_database_url()
    try:
        asyncio.run(migrate.upgrade(url))
    except UnsupportedDatabase as exc:
        _fail(str(exc))
    except (OSError, TimeoutError, SQLAlchemyError, asyncpg.PostgresError) as exc:
        _fail(f"cannot use the database at {safe_url(url)}: {describe_error(exc)}")


def _with_services(
    settings: Settings, work: Callable[[Services], Awaitable[T]], migrate_first: bool = True
) -> T:
    if migrate_first:
        _migrate(settings)

    async def run() -> T:
        store = open_store(settings.resolved_database_url(), pool_settings(settings))
        try:
            return await work(build_services(settings, store))
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except UserNotFound as exc:
        _fail(f"no user named {exc.username!r} (`{first_start.program()} user list` lists them)")
    except ServiceError as exc:
        _fail(exc.detail)


def _pepper(settings: Settings) -> str:
    """The API-key pepper of settings made with secrets (``_settings``)."""
    assert settings.api_key_pepper is not None
    return settings.api_key_pepper.get_secret_value()


async def _unit_count(s: Services) -> int:
    """Every unit, whatever its status: the length of a progress bar over them all."""
    return (await s.store.stats([0])).total_count


# ``serve``'s own flags default to None (so that the variable or the shared settings apply);
# their help shows the default that then holds.
_DEFAULTS = Settings.model_fields


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            envvar="CQ_HOST",
            help="Bind address (0.0.0.0: every interface).",
            show_default=str(_DEFAULTS["host"].default),
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(envvar="CQ_PORT", help="Port.", show_default=str(_DEFAULTS["port"].default)),
    ] = None,
    workers: Annotated[int, typer.Option(envvar="CQ_WORKERS", min=1, help="Processes.")] = 1,
    no_migrate: Annotated[
        bool, typer.Option("--no-migrate", help="Skip start-up migrations.")
    ] = False,
) -> None:
    """Serve the API (and the dashboard) until interrupted."""
    settings = _settings(ctx, host=host, port=port)
    logs.configure(settings.log_level)
    problem = listen_problem(settings.host, settings.port)  # before migrating: said at once
    if problem is not None:
        _fail(problem)
    url = settings.resolved_database_url()
    log.info("database: %s", safe_url(url))
    if settings.semantic == "on" and not installed():
        _fail(f"CQ_SEMANTIC=on, but {INSTALL_HINT}")
    if not no_migrate:
        _migrate(settings)
    _announce_next_step(ctx, settings)
    config = uvicorn.Config(
        # The workers get the settings from here, not from the environment (``api.asgi``).
        AppFactory(settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level,
        # A worker imports the whole app before answering its first health check; on a busy
        # small machine that takes longer than uvicorn's 5 s default, which would respawn it.
        timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    sock = config.bind_socket()
    # Workers rebuild the listening socket without its protocol number, so asyncio does not set
    # TCP_NODELAY on their connections and every response waits ~40 ms for a delayed ACK.
    # Accepted connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Supervisor(config, sockets=[sock]).run()
    finally:
        sock.close()


def _announce_next_step(ctx: typer.Context, settings: Settings) -> None:
    """While no user exists, log ``first_start.next_step``, whose setup link is minted here,
    once, before any worker starts; its hash is kept in the database, so every worker and every
    replica on the database accepts it (``services.setup``)."""
    try:
        token = _with_services(settings, lambda s: s.setup.open(), migrate_first=False)
    except (StoreFault, SQLAlchemyError) as exc:
        # A schema from before setup tokens (``--no-migrate``) or a database away for now:
        # serving goes on, as it would have; only the advice is missing.
        log.warning("could not check for users (no setup link): %s", describe_error(exc))
        return
    step = first_start.next_step(token, settings, flags(ctx).given)
    if step is not None:
        log.warning(step)


@app.command("migrate")
def migrate_command(ctx: typer.Context) -> None:
    """Bring the database schema up to date."""
    _migrate(_settings(ctx))
    typer.echo(f"database at revision {migrate.head_revision()}")


def _actor() -> str:
    """Who the audit trail names for the command line: ``cli:<os user>``, or ``cli``."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        return "cli"
    return f"cli:{name}"[:64]


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    username: str,
    role: Annotated[Role | None, typer.Option(help="Default: admin for the first user.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Create a user; the password is prompted for (or read from stdin)."""
    settings = _settings(ctx)
    password = _read_password(password_stdin)
    user = _with_services(
        settings, lambda s: s.accounts.create_user(username, password, role, _actor())
    )
    typer.echo(f"created {user.role} {user.username}")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """List users and their roles."""
    settings = _settings(ctx)

    async def work(s: Services) -> None:
        typer.echo("username\trole\tcreated_at")
        after: str | None = None
        while True:
            page = await s.accounts.list_users(after, 200)
            for user in page.items:
                typer.echo(f"{user.username}\t{user.role}\t{user.created_at.isoformat()}")
            if page.next_cursor is None:
                return
            after = page.next_cursor

    _with_services(settings, work)


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a user's password."""
    settings = _settings(ctx)
    password = _read_password(password_stdin)
    _with_services(
        settings, lambda s: s.accounts.update_user(username, _actor(), password=password)
    )
    typer.echo(f"password of {username} changed")


@user_app.command("set-role")
def user_set_role(ctx: typer.Context, username: str, role: Role) -> None:
    """Change a user's role (never the last admin's)."""
    settings = _settings(ctx)
    _with_services(settings, lambda s: s.accounts.update_user(username, _actor(), role=role))
    typer.echo(f"{username} is now {role.value}")


@user_app.command("delete")
def user_delete(ctx: typer.Context, username: str) -> None:
    """Delete a user, their API keys and sessions (never the last admin)."""
    settings = _settings(ctx)
    _with_services(settings, lambda s: s.accounts.delete_user(username, _actor()))
    typer.echo(f"deleted {username}")


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Owner of the key.")],
    name: Annotated[
        str,
        typer.Option(
            "--name",
            help="What the key is for (e.g. the machine or agent that uses it): shown in "
            "`key list` and the dashboard.",
        ),
    ],
    ttl: Annotated[str, typer.Option("--ttl", help="e.g. 30d, 12h; at most 365d.")] = "90d",
    label: Annotated[
        list[str] | None, typer.Option("--label", help="A label for the key (repeatable).")
    ] = None,
) -> None:
    """Create an API key and print its token (shown only this once)."""
    settings = _settings(ctx)

    async def work(s: Services) -> str:
        owner = await s.accounts.get_user(user)
        created = await s.accounts.create_key(owner, name, ttl, label or [])
        return created.token

    typer.echo(_with_services(settings, work))


@key_app.command("list")
def key_list(ctx: typer.Context, user: Annotated[str, typer.Option("--user")]) -> None:
    """List a user's API keys (never the tokens)."""
    settings = _settings(ctx)

    async def work(s: Services) -> None:
        owner = await s.accounts.get_user(user)
        typer.echo("id\tname\tprefix\tstate\texpires_at")
        for view in await s.accounts.list_keys(owner):
            key = view.record
            typer.echo(f"{key.id}\t{key.name}\t{key.prefix}…\t{view.state}\t{iso(key.expires_at)}")

    _with_services(settings, work)


@key_app.command("revoke")
def key_revoke(
    ctx: typer.Context, key_id: str, user: Annotated[str, typer.Option("--user")]
) -> None:
    """Revoke an API key (recorded in the audit trail)."""
    settings = _settings(ctx)

    async def work(s: Services) -> None:
        await s.accounts.revoke_key(await s.accounts.get_user(user), key_id, _actor())

    _with_services(settings, work)
    typer.echo(f"revoked {key_id}")


@alias_app.command("list")
def alias_list(ctx: typer.Context) -> None:
    """List the tag aliases, with who added each and when."""
    settings = _settings(ctx)
    aliases = _with_services(settings, lambda s: s.aliases.list())
    typer.echo("alias\tcanonical\tadded_by\tadded_at")
    for a in aliases:
        typer.echo(f"{a.alias}\t{a.canonical}\t{a.added_by}\t{iso(a.added_at)}")


@alias_app.command("add")
def alias_add(ctx: typer.Context, alias: str, canonical: str) -> None:
    """Make ALIAS a tag word for CANONICAL (recorded in the audit trail). Running servers use
    it within a few seconds; stored units need no re-index."""
    settings = _settings(ctx)
    added = _with_services(settings, lambda s: s.aliases.add(alias, canonical, _actor()))
    record = added.record
    verb = "added" if added.created else "already stored:"
    typer.echo(f"{verb} {record.alias} -> {record.canonical}")


@alias_app.command("remove")
def alias_remove(ctx: typer.Context, alias: str) -> None:
    """Remove a tag alias (recorded in the audit trail)."""
    settings = _settings(ctx)
    removed = _with_services(settings, lambda s: s.aliases.remove(alias, _actor()))
    typer.echo(f"removed {removed.alias} -> {removed.canonical}")


@app.command("export")
def export_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write every unit, user and API key (hashes only) as JSON Lines."""
    settings = _settings(ctx)

    async def work(s: Services) -> archive.ExportSummary:
        total = await _unit_count(s)
        with (
            output.open("w") if output else nullcontext(sys.stdout) as handle,
            progress(total, "exporting units", enabled=output is not None) as advance,
        ):
            return await archive.export(s.store, handle.write, advance, pepper=_pepper(settings))

    summary = _with_services(settings, work)
    if output:
        typer.echo(f"exported {summary.records} records to {output}", err=True)


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load an export into this server's database; what exists already is left alone."""
    settings = _settings(ctx)

    async def work(s: Services) -> archive.ImportSummary:
        with (
            file.open() as handle,
            progress(file.stat().st_size, "importing", enabled=True) as advance,
        ):
            return await archive.import_lines(s.store, handle, advance)

    try:
        summary = _with_services(settings, work)
    except archive.ArchiveError as exc:
        _fail(f"{file}: {exc}")
    typer.echo(summary.line())
    refused = summary.refused_keys(_pepper(settings))
    if refused:
        typer.echo(
            f"warning: {file} was exported under another CQ_API_KEY_PEPPER, so this server will "
            f"refuse all {refused} of its API keys (401). Give this server the exporting "
            "server's CQ_API_KEY_PEPPER (from its environment or its data directory's "
            "secrets.json), or issue new keys.",
            err=True,
        )


@app.command("doctor")
def doctor_command(
    ctx: typer.Context,
    fix: Annotated[
        bool, typer.Option("--fix", help="Quarantine what is found (default: only report).")
    ] = False,
) -> None:
    """Find units stored by earlier versions that break the input bounds; with --fix,
    quarantine them (rejected, reason in the review note, repaired so that they export)."""
    settings = _settings(ctx)

    def found(finding: UnitFinding) -> None:
        problems = "; ".join(finding.problems)
        typer.echo(f"{finding.unit_id}\t{finding.status.value}\t{problems}")

    async def work(s: Services) -> doctor.DoctorReport:
        with progress(await _unit_count(s), "checking units", enabled=True) as advance:
            return await doctor.doctor(s.store, fix, found, advance)

    report = _with_services(settings, work)
    typer.echo(report.line(fix))
    if report.found > report.quarantined:
        raise typer.Exit(1)


@app.command("embed")
def embed_command(ctx: typer.Context) -> None:
    """Compute the vectors of every unit that has none by the current model, for semantic
    re-ranking (needs the colloquy[semantic] extra). Safe while the server runs, and to run
    again: it resumes where it stopped."""
    settings = _settings(ctx)
    try:
        embedder = load_embedder()
    except SemanticUnavailable as exc:
        _fail(str(exc))

    async def work(s: Services) -> int:
        service = embedding_service(s.store, embedder, pace=False)
        backlog = await s.store.embedding_backlog(service.model_id)
        with progress(backlog, "embedding units", enabled=True) as advance:
            return await service.backfill(advance)

    done = _with_services(settings, work)
    typer.echo(f"embedded {done} units with {embedder.model_id}")


@app.command("backup")
def backup_command(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (mode 0600).")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """Copy the SQLite database, consistently, while the server runs (PostgreSQL: pg_dump)."""
    settings = _settings(ctx, secrets=False)
    try:
        with progress_bar("backing up (pages)", enabled=True) as update:
            size = sqlite_backup.backup(
                settings.resolved_database_url(), output, overwrite=force, progress=update
            )
    except sqlite_backup.BackupError as exc:
        _fail(str(exc))
    typer.echo(f"backed up {size} bytes to {output}", err=True)
