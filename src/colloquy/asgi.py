"""Entry point for uvicorn workers: the app for the settings in the environment."""

import sys

from fastapi import FastAPI

from colloquy.app import create_app
from colloquy.config import Settings, ensure_secrets

# The SQLite driver runs each statement on its own thread, which then waits for the GIL while
# the event loop handles other requests. Python's default 5 ms switch interval made every such
# hand-off wait up to 5 ms under load; 0.1 ms lets the driver back in promptly.
GIL_SWITCH_INTERVAL = 0.0001


def app_from_env() -> FastAPI:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    return create_app(ensure_secrets(Settings()))
