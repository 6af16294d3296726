"""Tag aliases (``domain.tags``): the table admins edit from the API, the dashboard and the
command line. Every edit names its actor in the audit trail; ranked queries see it at once in
this process and within a few seconds in others (``store.sql.aliases``)."""

from dataclasses import dataclass

from colloquy.clock import now
from colloquy.domain.bounds import text_problem
from colloquy.domain.tags import MAX_ALIAS_LENGTH, alias_word, check_alias
from colloquy.services.errors import AliasConflict, AliasNotFound, InvalidInput
from colloquy.store.protocol import AliasExists, AliasRecord, Conflict, Store


@dataclass(frozen=True)
class AddedAlias:
    record: AliasRecord
    created: bool
    """False: the same alias of the same word was stored already (adding it is idempotent)."""


class AliasService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def list(self) -> list[AliasRecord]:
        return await self._store.list_aliases()

    async def add(self, alias: str, canonical: str, actor: str) -> AddedAlias:
        """Store ``alias`` for ``canonical``, both as tag words. 422 for text that is not one
        word or an alias of itself; 409 when the stored aliases refuse it."""
        try:
            # Against no table: the words alone. The store checks chains in its transaction.
            alias, canonical = check_alias(alias, canonical, {})
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        try:
            return AddedAlias(await self._store.add_alias(alias, canonical, actor, now()), True)
        except AliasExists as exc:
            if exc.canonical != canonical:
                raise AliasConflict(f"{exc}; remove it first") from exc
            return AddedAlias(await self._stored(alias), False)
        except Conflict as exc:
            raise AliasConflict(str(exc)) from exc

    async def remove(self, alias: str, actor: str) -> AliasRecord:
        """The alias as written, else as a tag word (``K8S`` is ``k8s``); 404 if neither is
        stored. As written first: a word stored under older wording rules stays removable."""
        if len(alias) > MAX_ALIAS_LENGTH or text_problem(alias) is not None:
            raise AliasNotFound()  # never stored
        removed = await self._store.remove_alias(alias, actor, now())
        if removed is None:
            try:
                word = alias_word(alias)
            except ValueError as exc:
                raise AliasNotFound() from exc
            if word != alias:
                removed = await self._store.remove_alias(word, actor, now())
        if removed is None:
            raise AliasNotFound()
        return removed

    async def _stored(self, alias: str) -> AliasRecord:
        found = next((a for a in await self._store.list_aliases() if a.alias == alias), None)
        if found is None:  # removed since; the caller may simply try again
            raise AliasNotFound()
        return found
