"""Entry point for uvicorn workers: the app for the settings in the environment."""

from fastapi import FastAPI

from colloquy.api.app import create_app
from colloquy.config import Settings, ensure_secrets


def app_from_env() -> FastAPI:
    return create_app(ensure_secrets(Settings()))
