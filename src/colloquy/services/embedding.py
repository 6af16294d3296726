"""Units' vectors kept current off the request path, and the similarity of a query to a set of
candidates (``colloquy[semantic]``).

A proposal is stored first and answered; its unit is then queued here (``notice``) and embedded
by the background task (``run``) in batches, in a worker thread (the model releases the GIL), so
proposals are acknowledged as fast as without the extra. At start the task also sweeps the whole
store for units without a vector by the current model (``backfill``, also what ``colloquy
embed`` runs); it works at most half of one core, sleeping as long as each batch took, so that
a large backlog does not starve requests.
"""

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from colloquy.domain.models import KnowledgeUnit
from colloquy.semantic import Embedder, unit_text, vectors
from colloquy.store.protocol import EmbeddingSource, Store

log = logging.getLogger(__name__)

BATCH = 32
WINDOW = 1_000
MAX_QUEUED = 10_000
QUERY_CACHE = 1_024
MAX_CANDIDATES = 200


def _source(unit: KnowledgeUnit) -> EmbeddingSource:
    insight, context = unit.insight, unit.context
    tags = (*unit.domains, *context.languages, *context.frameworks)
    return EmbeddingSource(unit.id, insight.summary, insight.detail, insight.action, tags)


class EmbeddingService:
    def __init__(self, store: Store, embedder: Embedder, pace: bool = True) -> None:
        """``pace``: sleep after each batch as long as it took (the server); the command line
        runs flat out."""
        self._store = store
        self._embedder = embedder
        self._pace = pace
        self._queue: asyncio.Queue[EmbeddingSource] = asyncio.Queue(MAX_QUEUED)
        self._overflowed = False
        self._queries: OrderedDict[str, bytes] = OrderedDict()

    @property
    def model_id(self) -> str:
        return self._embedder.model_id

    def notice(self, unit: KnowledgeUnit) -> None:
        """Queue a unit just stored for embedding; never waits. When the queue is full the unit
        is left for the next sweep."""
        try:
            self._queue.put_nowait(_source(unit))
        except asyncio.QueueFull:
            self._overflowed = True

    async def backfill(self, progress: Callable[[int], None] | None = None) -> int:
        """Embed every unit without a vector by the current model, window by window; how many
        were embedded. ``progress`` is told each batch's size."""
        done, after = 0, None
        while True:
            scan = await self._store.units_to_embed(self.model_id, after, WINDOW)
            for start in range(0, len(scan.units), BATCH):
                batch = scan.units[start : start + BATCH]
                await self._embed(batch)
                done += len(batch)
                if progress is not None:
                    progress(len(batch))
            if scan.next_after is None:
                return done
            after = scan.next_after

    async def run(self) -> None:
        """The background task: a sweep, then the queued units as they come, in batches."""
        try:
            swept = await self.backfill()
            if swept:
                log.info("embedded %d units that had no vector by %s", swept, self.model_id)
            while True:
                batch = [await self._queue.get()]
                while len(batch) < BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._embed(batch)
                if self._overflowed:
                    self._overflowed = False
                    await self.backfill()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The extra is optional: its failure must never take the server down.
            log.exception("embedding stopped; queries rank without vectors")

    async def similarity(self, query: str, unit_ids: Sequence[str]) -> dict[str, float]:
        """Cosine of ``query`` with each of ``unit_ids`` that has a vector (at most
        ``MAX_CANDIDATES``). The query's vector is cached by text: agents repeat their tags."""
        if len(unit_ids) > MAX_CANDIDATES:
            raise ValueError(f"at most {MAX_CANDIDATES} candidates are re-ranked")
        vector = self._queries.get(query)
        if vector is None:
            embedded = await asyncio.to_thread(self._embedder.embed_queries, [query])
            vector = vectors.to_blob(embedded[0])
            self._queries[query] = vector
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(query)
        stored = await self._store.unit_vectors(self.model_id, unit_ids)
        return vectors.cosine(vectors.from_blob(vector), stored)

    async def rerank(self, query: str, lexical: dict[str, float]) -> list[str]:
        """``lexical``'s ids (a ranker's candidates with their scores) fused with their
        similarity to ``query`` (``vectors.fused_order``)."""
        return vectors.fused_order(lexical, await self.similarity(query, list(lexical)))

    async def _embed(self, batch: Sequence[EmbeddingSource]) -> None:
        texts = [unit_text(u.summary, u.detail, u.action, u.tags) for u in batch]
        started = time.monotonic()
        embedded = await asyncio.to_thread(self._embedder.embed, texts)
        took = time.monotonic() - started
        await self._store.store_vectors(
            self.model_id,
            [(u.unit_id, vectors.to_blob(v)) for u, v in zip(batch, embedded, strict=True)],
        )
        if self._pace:
            await asyncio.sleep(took)
