"""The app as uvicorn starts it, for Settings handed over explicitly.

``colloquy serve --workers N`` gives uvicorn's supervisor an ``AppFactory``; uvicorn pickles it,
with the rest of its config, into each worker through the pipe that starts the worker. So the
settings (secrets and database URL included) reach the workers neither through the environment
nor on a command line that ``ps`` shows, and the workers build the app for exactly the settings
the command resolved.
"""

import sys
from dataclasses import dataclass

from fastapi import FastAPI

from colloquy import logs
from colloquy.config import Settings

# The SQLite driver runs each statement on its own thread, which then waits for the GIL while
# the event loop handles other requests. Python's default 5 ms switch interval made every such
# hand-off wait up to 5 ms under load; 0.1 ms lets the driver back in promptly.
GIL_SWITCH_INTERVAL = 0.0001


@dataclass(frozen=True)
class AppFactory:
    """The app for ``settings`` (with their secrets filled in), built in the process that
    serves it."""

    settings: Settings

    def __call__(self) -> FastAPI:
        # Imported on the call, in the process that serves: the supervisor only holds (and
        # pickles) this factory, never serves, and so never loads the whole app.
        from colloquy.app import create_app

        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        logs.configure(self.settings.log_level)
        return create_app(self.settings)
