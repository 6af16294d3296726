"""The ``colloquy`` command: serve, migrate, and manage users, API keys and data."""

from colloquy.cli import import_cq  # noqa: F401 - registers ``import-cq`` on the app
from colloquy.cli.commands import app

__all__ = ["app"]
