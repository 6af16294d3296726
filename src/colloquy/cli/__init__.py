"""The ``colloquy`` command: serve, migrate, and manage users, API keys and data."""

from colloquy.cli.commands import app

__all__ = ["app"]
