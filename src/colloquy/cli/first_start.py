"""What ``serve`` tells a newcomer before it starts: with no user yet, the one next step (the
setup page's one-time link, or the command). ``next_step`` is the single place for such
first-run help, so that more of it extends it rather than adding a second message."""

import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from colloquy.config import Settings
from colloquy.store.factory import safe_url

# Bind addresses that name every interface: a browser on this machine uses loopback instead.
_ANY_ADDRESS = {"", "0.0.0.0", "::"}  # noqa: S104 - compared, never bound


def program() -> str:
    """How to run this ``colloquy`` from here: the bare name when PATH finds this very program,
    else the path it was started by (``.venv/bin/colloquy`` under ``make run``)."""
    started = Path(sys.argv[0])
    found = shutil.which("colloquy")
    if found is not None and Path(found).resolve() == started.resolve():
        return "colloquy"
    return str(started)


def dashboard_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in _ANY_ADDRESS else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"


def _shared_flags(given: Mapping[str, Any]) -> str:
    """The shared options given on the command line, for a command that must use the same
    database (a password in a URL is masked, never logged)."""
    words: list[str] = []
    if "data_dir" in given:
        words += ["--data-dir", shlex.quote(str(given["data_dir"]))]
    if "database_url" in given:
        words += ["--database-url", shlex.quote(safe_url(given["database_url"]))]
    return "".join(f" {word}" for word in words)


def next_step(setup_token: str | None, settings: Settings, given: Mapping[str, Any]) -> str | None:
    """The one thing a newcomer should do next, or ``None`` once a user exists (no
    ``setup_token`` was minted): open the setup link, or create the first admin with the CLI
    (``given``: the shared options given as flags, repeated in the command shown)."""
    if setup_token is None:
        return None
    create = f"{program()} user create NAME --role admin{_shared_flags(given)}"
    return (
        f"no users yet — open {dashboard_url(settings)}setup?token={setup_token} to create the "
        f"first admin, or run `{create}` in another terminal (it asks for a password)"
    )
