"""The review dashboard: server-rendered pages (Jinja2) and their assets under ``/static``.

Every page talks to the same services as the API; nothing here touches the store directly.
"""

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from colloquy.config import Settings
from colloquy.web import errors, pages
from colloquy.web.auth import NotAllowed, SignInRequired
from colloquy.web.security import FormKeys

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    """Add the dashboard to ``app``; call after the API routers so those match first."""
    secret = (
        settings.jwt_secret.get_secret_value()
        if settings.jwt_secret is not None
        else secrets.token_urlsafe(48)
    )
    app.state.form_keys = FormKeys(secret)
    for router in pages.routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(SignInRequired, errors.sign_in_required)
    app.add_exception_handler(NotAllowed, errors.not_allowed)
    app.add_exception_handler(errors.PageError, errors.page_error)
