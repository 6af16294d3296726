"""Users, sessions and API keys."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from colloquy.clock import now
from colloquy.domain.models import Role
from colloquy.domain.normalize import new_key_id, normalize_labels
from colloquy.domain.ttl import InvalidTtl, parse_ttl
from colloquy.security import api_keys, passwords, sessions
from colloquy.services.errors import (
    ApiKeyNotSession,
    Forbidden,
    InvalidApiKey,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    KeyLimit,
    KeyNotFound,
    LastAdminRemoval,
    UserExists,
    UserNotFound,
)
from colloquy.services.throttle import LoginThrottle
from colloquy.services.views import KeyView
from colloquy.store.protocol import (
    AuditEntry,
    InvalidCursor,
    KeyLimitReached,
    LastAdmin,
    NewApiKey,
    Page,
    Store,
    UserChanges,
    UsernameTaken,
    UserRecord,
)

MAX_ACTIVE_KEYS = 20
USERNAME_MAX_LENGTH = 64
PASSWORD_MIN_LENGTH = 8
# ``last_used_at`` is rewritten at most this often per key, keeping busy keys' requests read-only.
LAST_USED_PRECISION = timedelta(seconds=60)
REVIEW_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})


@dataclass(frozen=True)
class Session:
    user: UserRecord
    token_id: str
    expires_at: datetime


@dataclass(frozen=True)
class CreatedKey:
    key: KeyView
    token: str


def validate_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > USERNAME_MAX_LENGTH or any(c.isspace() for c in name):
        raise InvalidInput(f"username must be 1-{USERNAME_MAX_LENGTH} characters without spaces")
    return name


def validate_password(password: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= passwords.MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be {PASSWORD_MIN_LENGTH}-{passwords.MAX_PASSWORD_LENGTH} characters"
        )


class AccountService:
    def __init__(
        self,
        store: Store,
        jwt_secret: str,
        pepper: str,
        session_ttl: timedelta,
        throttle: LoginThrottle,
    ) -> None:
        self._store = store
        self._jwt_secret = jwt_secret
        self._pepper = pepper
        self._session_ttl = session_ttl
        self._throttle = throttle

    # ------------------------------------------------------------ sessions

    async def login(self, username: str, password: str, address: str | None) -> str:
        """A session token; ``address`` is the client's, for throttling (the API and the
        dashboard's sign-in form share the rule)."""
        await self._throttle.admit(username, address)
        credential = await self._store.get_credential(username)
        stored_hash = credential.password_hash if credential else None
        if not await passwords.verify_password(stored_hash, password) or credential is None:
            raise InvalidCredentials()
        await self._throttle.succeeded(username, address)
        if passwords.needs_rehash(credential.password_hash):
            await self._store.rehash_password(username, await passwords.hash_password(password))
        return sessions.issue(
            self._jwt_secret,
            username,
            credential.user.id,
            credential.session_generation,
            self._session_ttl,
            now(),
        )

    async def session(self, token: str) -> Session:
        """The signed-in user behind a session token; deleted users, revoked tokens and tokens
        from before a password reset or role change fail."""
        if api_keys.parse(token) is not None:
            raise ApiKeyNotSession()
        claims = sessions.verify(self._jwt_secret, token)
        if claims is None:
            raise InvalidToken()
        user = await self._store.session_user(claims.username, claims.token_id, claims.generation)
        if user is None or claims.user_id not in (None, user.id):
            raise InvalidToken()
        return Session(user=user, token_id=claims.token_id, expires_at=claims.expires_at)

    async def logout(self, session: Session) -> None:
        if session.token_id:
            await self._store.revoke_session(session.token_id, session.expires_at, now())

    @staticmethod
    def require_role(user: UserRecord, roles: frozenset[Role]) -> None:
        if user.role not in roles:
            raise Forbidden()

    # ------------------------------------------------------------ users

    # ``actor`` names who acts in the audit trail: an admin's username, or ``cli:<os user>``.
    # The one rule on admins lives in the store's transaction (it must hold under races): the
    # last admin is never demoted or deleted, whoever asks, themselves included.

    async def create_user(
        self, username: str, password: str, role: Role | None, actor: str
    ) -> UserRecord:
        name = validate_username(username)
        validate_password(password)
        password_hash = await passwords.hash_password(password)
        try:
            return await self._store.create_user(name, password_hash, role, now(), actor)
        except UsernameTaken as exc:
            raise UserExists() from exc

    async def get_user(self, username: str) -> UserRecord:
        user = await self._store.get_user(username)
        if user is None:
            raise UserNotFound(username)
        return user

    async def list_users(self, after: str | None, limit: int) -> Page[UserRecord]:
        return await self._store.list_users(after, limit)

    async def update_user(
        self, username: str, actor: str, role: Role | None = None, password: str | None = None
    ) -> UserRecord:
        """Change a role and/or reset a password in one step; either ends the user's sessions."""
        password_hash = None
        if password is not None:
            validate_password(password)
            password_hash = await passwords.hash_password(password)
        changes = UserChanges(role=role, password_hash=password_hash)
        try:
            user = await self._store.update_user(username, changes, actor, now())
        except LastAdmin as exc:
            raise LastAdminRemoval() from exc
        if user is None:
            raise UserNotFound(username)
        return user

    async def delete_user(self, username: str, actor: str) -> None:
        try:
            deleted = await self._store.delete_user(username, actor, now())
        except LastAdmin as exc:
            raise LastAdminRemoval() from exc
        if deleted is None:
            raise UserNotFound(username)

    async def audit(self, cursor: str | None, limit: int) -> Page[AuditEntry]:
        try:
            return await self._store.audit_page(cursor, limit)
        except InvalidCursor as exc:
            raise InvalidInput("cursor is not one this server issued") from exc

    # ------------------------------------------------------------ API keys

    async def create_key(
        self, user: UserRecord, name: str, ttl: str, labels: list[str]
    ) -> CreatedKey:
        try:
            canonical, lifetime = parse_ttl(ttl)
        except InvalidTtl as exc:
            raise InvalidInput(str(exc)) from exc
        if not name.strip():
            raise InvalidInput("name must not be blank")
        created_at = now()
        key_id = new_key_id()
        minted = api_keys.mint(self._pepper, key_id)
        new = NewApiKey(
            id=key_id,
            user_id=user.id,
            name=name,
            labels=normalize_labels(labels),
            prefix=minted.prefix,
            key_hash=minted.key_hash,
            ttl=canonical,
            expires_at=created_at + lifetime,
            created_at=created_at,
        )
        try:
            record = await self._store.create_api_key(new, MAX_ACTIVE_KEYS)
        except KeyLimitReached as exc:
            raise KeyLimit(MAX_ACTIVE_KEYS) from exc
        return CreatedKey(key=KeyView(record, now()), token=minted.token)

    async def list_keys(self, user: UserRecord) -> list[KeyView]:
        """The user's keys, newest first, each with its state as of now."""
        at = now()
        keys = await self._store.list_api_keys(user.id)
        return [KeyView(key, at) for key in keys]

    async def revoke_key(self, user: UserRecord, key_id: str, actor: str | None = None) -> None:
        """``actor``: an admin revoking ``user``'s key, which the audit trail records. Users
        revoking their own keys are not admin actions (the key's ``revoked_at`` shows them)."""
        if await self._store.revoke_api_key(user.id, key_id, now(), actor) is None:
            raise KeyNotFound()

    async def authenticate_reader(self, token: str) -> UserRecord:
        """Who may read: an API key's owner (agents) or a signed-in user (the dashboard's
        people). Either failure is the key routes' 401, the answer agents expect."""
        presented = api_keys.parse(token)
        if presented is not None:
            return await self.key_owner(presented)
        try:
            return (await self.session(token)).user
        except InvalidToken:
            raise InvalidApiKey() from None

    async def authenticate_key(self, token: str) -> UserRecord:
        """The owner of a valid, active API key; every failure is the same 401."""
        presented = api_keys.parse(token)
        if presented is None:
            raise InvalidApiKey()
        return await self.key_owner(presented)

    async def key_owner(self, presented: api_keys.PresentedKey) -> UserRecord:
        """``authenticate_key`` of a token already parsed, for a caller that needs the parsed
        key too (a reader's token, a writer's key id): each token is parsed once."""
        at = now()
        credential = await self._store.key_credential(presented.key_id, at)
        if credential is None or not api_keys.matches(
            self._pepper, presented.secret, credential.key_hash
        ):
            raise InvalidApiKey()
        last = credential.last_used_at
        if last is None or at - last >= LAST_USED_PRECISION:
            await self._store.touch_api_key(credential.key_id, at)
        return credential.user
