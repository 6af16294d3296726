"""First start: while no user exists, whoever holds a setup token may create the first admin
from the dashboard.

``colloquy serve`` mints the token as it starts (in the parent process, before any worker
forks) and prints it in its log; only the token's hash is stored, in the database, so every
worker and every replica on the same database accepts it, and a restart adds a new one while
the old ones keep working. Creating any user ends setup: the tokens are deleted with it, and the
page is gone for good (the last admin can never be deleted).
"""

from colloquy.clock import now
from colloquy.security import passwords, setup_tokens
from colloquy.services.accounts import validate_password, validate_username
from colloquy.services.errors import InvalidSetupToken, SetupDone
from colloquy.services.throttle import LoginThrottle
from colloquy.store.protocol import Store, UserRecord

# Setup tokens kept at once: one per start (of each replica) while no user exists.
KEPT_TOKENS = 16


class SetupService:
    def __init__(self, store: Store, throttle: LoginThrottle) -> None:
        self._store = store
        self._throttle = throttle
        self._done = False

    async def needed(self) -> bool:
        """Whether no user exists yet. Once one does, one always will, so from then on the
        answer is remembered and costs no query."""
        if not self._done:
            self._done = await self._store.has_users()
        return not self._done

    async def open(self) -> str | None:
        """A new setup token (its hash stored), or None when a user exists already."""
        minted = setup_tokens.mint()
        if await self._store.open_setup(minted.token_hash, now(), KEPT_TOKENS):
            return minted.token
        self._done = True
        return None

    async def check(self, token: str, address: str | None) -> str:
        """The stored hash that ``token`` matches. Raises ``SetupDone``, ``Throttled`` (too
        many wrong tokens from ``address``) or ``InvalidSetupToken``."""
        if not await self.needed():
            raise SetupDone()
        await self._throttle.admit_setup(address)
        found = setup_tokens.find(token, await self._store.setup_token_hashes(KEPT_TOKENS))
        if found is None:
            raise InvalidSetupToken()
        await self._throttle.setup_succeeded(address)
        return found

    async def create_admin(
        self, token: str, username: str, password: str, address: str | None
    ) -> UserRecord:
        """The first admin, under the rules of every user's name and password. Of concurrent
        calls at most one succeeds (the store's transaction decides); the others raise
        ``SetupDone``."""
        token_hash = await self.check(token, address)
        name = validate_username(username)
        validate_password(password)
        password_hash = await passwords.hash_password(password)
        user = await self._store.create_first_admin(name, password_hash, token_hash, now())
        if user is None:
            raise SetupDone() if not await self.needed() else InvalidSetupToken()
        self._done = True
        return user
