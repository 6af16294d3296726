"""What ``serve`` tells a newcomer before it starts: with no user yet, the one next step.
``next_step`` is the single place for such first-run help, so that more of it (a setup page)
extends it rather than adding a second message."""

import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from colloquy.config import Settings
from colloquy.store.factory import safe_url
from colloquy.store.protocol import Store

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


async def next_step(store: Store, settings: Settings, given: Mapping[str, Any]) -> str | None:
    """The one thing a newcomer should do next, or ``None``: with no user yet, create the first
    admin (``given``: the shared options given as flags, repeated in the command shown)."""
    if (await store.list_users(None, 1)).items:
        return None
    create = f"{program()} user create NAME{_shared_flags(given)}"
    return (
        f"no user yet: create the first admin with `{create}` in another terminal "
        f"(it asks for a password), then sign in at {dashboard_url(settings)}"
    )
