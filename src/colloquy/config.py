"""Settings: every option has a ``CQ_*`` environment variable (the reference's names work too)
and a CLI flag; with none set, colloquy runs on SQLite in its data directory."""

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from colloquy.domain.ranking import Ranking

log = logging.getLogger(__name__)

SECRETS_FILE = "secrets.json"
MIN_SECRET_LENGTH = 32
# More SQLite reader threads than this only add GIL hand-offs and page caches.
MAX_DB_READERS = 32


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "colloquy"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CQ_", case_sensitive=False, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr | None = None
    db_path: Path | None = None
    jwt_secret: SecretStr | None = None
    api_key_pepper: SecretStr | None = None
    session_ttl_seconds: int = Field(default=86_400, ge=60)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    workers: int = Field(default=1, ge=1, le=64)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_connect_timeout: float = Field(default=10.0, gt=0)
    # SQLite reader threads, each with its own connection; None: the store's default
    # (``store.sqlite.default_readers``).
    db_readers: int | None = Field(default=None, ge=1, le=MAX_DB_READERS)
    public_read: bool = False
    log_level: str = "info"
    # Sign-in throttling (services/throttle.py): failures allowed before waits begin.
    login_free_attempts: int = Field(default=5, ge=1, le=1000)
    login_address_free_attempts: int = Field(default=20, ge=1, le=100_000)
    # Writes per minute per API key; 0 turns a limit off.
    rate_limit_propose: int = Field(default=60, ge=0, le=1_000_000)
    rate_limit_confirm: int = Field(default=600, ge=0, le=1_000_000)
    rate_limit_flag: int = Field(default=600, ge=0, le=1_000_000)
    # How GET /api/v1/knowledge ranks (README "Ranking"): ``cq`` is the reference's exact order.
    ranking: Ranking = Ranking.HYBRID
    # Units' vectors for semantic re-ranking (README "Semantic re-ranking"): ``auto`` when the
    # colloquy[semantic] extra is installed, ``on`` requires it, ``off`` never loads the model.
    semantic: Literal["auto", "on", "off"] = "auto"

    def resolved_database_url(self) -> str:
        """The URL to open: ``CQ_DATABASE_URL``, else ``CQ_DB_PATH``, else the data directory."""
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        path = self.db_path or self.data_dir / "colloquy.db"
        # The store picks the async driver for any ``sqlite`` URL (``store.factory``).
        return f"sqlite:///{path.expanduser().resolve()}"


def ensure_secrets(settings: Settings) -> Settings:
    """Fill in missing secrets from the data directory, generating them once if needed, and
    refuse weak ones (``check_secrets``).

    The file is created with mode 0600; only its path is logged, never the values.
    """
    if settings.jwt_secret is None or settings.api_key_pepper is None:
        path = settings.data_dir.expanduser() / SECRETS_FILE
        if not path.exists():
            _create_secrets_file(path)
        stored: dict[str, str] = json.loads(path.read_text())
        updates: dict[str, SecretStr] = {}
        if settings.jwt_secret is None:
            updates["jwt_secret"] = SecretStr(stored["jwt_secret"])
        if settings.api_key_pepper is None:
            updates["api_key_pepper"] = SecretStr(stored["api_key_pepper"])
        settings = settings.model_copy(update=updates)
    check_secrets(settings)
    return settings


class WeakSecret(ValueError):
    """A secret short enough to guess: anyone who guesses the JWT secret forges sessions."""


def _size(secret: SecretStr | None) -> int:
    return len(secret.get_secret_value().encode()) if secret is not None else 0


def check_secrets(settings: Settings) -> None:
    """Refuse a JWT secret shorter than ``MIN_SECRET_LENGTH`` bytes, and an empty pepper,
    naming the variable.

    A shorter pepper is accepted with a warning: the reference server takes any, and keys moved
    from it work only under the same one. It keys MACs of 256-bit random key secrets, which stay
    out of reach whatever the pepper; what a short one exposes is the sign-in throttle's digests
    of usernames and addresses, to someone who can read the database.
    """
    pepper = _size(settings.api_key_pepper)
    if 0 < pepper < MIN_SECRET_LENGTH:
        log.warning(
            "CQ_API_KEY_PEPPER is %d bytes long; accepted (keys from a cq reference server need "
            "its pepper), but a new deployment should use at least %d bytes",
            pepper,
            MIN_SECRET_LENGTH,
        )
    for name, size, minimum in (
        ("CQ_JWT_SECRET", _size(settings.jwt_secret), MIN_SECRET_LENGTH),
        ("CQ_API_KEY_PEPPER", pepper, 1),
    ):
        if size < minimum:
            raise WeakSecret(
                f"{name} is {size} bytes long; it must be at least {MIN_SECRET_LENGTH} bytes "
                "(for example the output of `openssl rand -base64 48`), or unset it to have "
                "one generated"
            )


def _create_secrets_file(path: Path) -> None:
    """Write fresh secrets atomically; if another process got there first, keep its file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"jwt_secret": secrets.token_urlsafe(48), "api_key_pepper": secrets.token_urlsafe(48)}
    staging = path.with_name(f".{SECRETS_FILE}.{os.getpid()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    try:
        os.link(staging, path)
        log.warning("generated secrets into %s (keep this file: it signs sessions and keys)", path)
    except FileExistsError:
        pass
    finally:
        staging.unlink()
