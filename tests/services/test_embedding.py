"""Units' vectors with the real model, on both backends: the backfill (service and ``colloquy
embed``), the background task of a running app embedding a proposal after it is stored, and
the similarity of a query to a candidate set."""

import asyncio
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from colloquy.app import create_app
from colloquy.cli import app as cli_app
from colloquy.config import Settings
from colloquy.domain.models import Context, Insight
from colloquy.semantic import load_embedder
from colloquy.semantic.minilm import DIM, MiniLM
from colloquy.semantic.vectors import from_blob
from colloquy.services.embedding import MAX_CANDIDATES, EmbeddingService
from colloquy.services.knowledge import Proposal
from colloquy.store.protocol import Store
from tests.store.factories import new_unit

PROBE = Proposal(
    domains=["kubernetes", "probes"],
    insight=Insight(
        summary="Kubernetes restarts pods whose liveness probe fails during a slow start",
        detail="A JVM service that needs 90 s to boot is killed before it is ready.",
        action="Use a startupProbe, or an initialDelaySeconds longer than the boot.",
    ),
    context=Context(languages=["java"]),
)


@pytest.fixture(scope="module")
def model() -> MiniLM:
    embedder = load_embedder()
    assert isinstance(embedder, MiniLM)
    return embedder


async def wait_for_vectors(store: Store, model_id: str, ids: list[str]) -> dict[str, bytes]:
    for _ in range(200):
        found = await store.unit_vectors(model_id, ids)
        if len(found) == len(ids):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no vectors for {sorted(set(ids) - set(found))} after 10 s")


async def test_backfill_embeds_every_unit_once(store, model):
    units = [await store.insert_unit(new_unit(summary=f"unit number {n}")) for n in range(40)]
    service = EmbeddingService(store, model, pace=False)
    told: list[int] = []
    assert await service.backfill(told.append) == 40
    assert sorted(told, reverse=True) == [32, 8]  # batches
    assert await store.embedding_backlog(model.model_id) == 0
    assert await service.backfill() == 0  # nothing left to do

    stored = await store.unit_vectors(model.model_id, [u.id for u in units])
    assert len(stored) == 40
    vector = from_blob(stored[units[0].id])
    assert vector.shape == (DIM,)
    assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5


async def test_similarity_puts_the_paraphrased_unit_first(store, model):
    probe = await store.insert_unit(new_unit(domains=["kubernetes"], summary=PROBE.insight.summary))
    other = await store.insert_unit(
        new_unit(domains=["git"], summary="git rebase rewrites commits others already pulled")
    )
    unembedded = await store.insert_unit(new_unit(domains=["git"]))
    service = EmbeddingService(store, model, pace=False)
    await store.store_vectors(
        model.model_id,
        [(u.id, model.embed([u.insight.summary])[0].tobytes()) for u in (probe, other)],
    )
    query = "my containers keep getting killed while the app boots"
    scores = await service.similarity(query, [probe.id, other.id, unembedded.id])
    assert set(scores) == {probe.id, other.id}  # no vector yet: no score
    assert scores[probe.id] > scores[other.id] + 0.1
    again = await service.similarity(query, [probe.id])  # the query's vector from the cache
    assert again == {probe.id: pytest.approx(scores[probe.id], abs=1e-6)}
    with pytest.raises(ValueError, match="at most"):
        await service.similarity(query, [probe.id] * (MAX_CANDIDATES + 1))


async def test_a_running_app_embeds_old_units_and_each_proposal_after_storing_it(
    store, settings: Settings
):
    old = await store.insert_unit(new_unit())
    app = create_app(settings.model_copy(update={"semantic": "on"}))
    async with app.router.lifespan_context(app):
        services = app.state.services
        assert services.embedding is not None
        model_id = services.embedding.model_id
        proposed = await services.knowledge.propose(PROBE, "alice")
        # answered before its vector exists: the model runs in the background
        await wait_for_vectors(store, model_id, [old.id, proposed.id])
    assert await store.embedding_backlog(model_id) == 0


async def test_with_semantic_off_no_model_is_loaded(settings: Settings):
    app = create_app(settings.model_copy(update={"semantic": "off"}))
    async with app.router.lifespan_context(app):
        assert app.state.services.embedding is None
        proposed = await app.state.services.knowledge.propose(PROBE, "alice")
        assert proposed.insight.summary == PROBE.insight.summary


async def test_the_embed_command_backfills_and_resumes(store, database_url: str, tmp_path: Path):
    ids = [(await store.insert_unit(new_unit())).id for _ in range(3)]

    def embed():
        env = {"CQ_DATA_DIR": str(tmp_path), "CQ_DATABASE_URL": database_url}
        return CliRunner().invoke(cli_app, ["embed"], env=env)

    done = await asyncio.to_thread(embed)
    assert done.exit_code == 0, done.output
    model_id = done.output.strip().rsplit(" ", 1)[-1]
    assert done.output.strip() == f"embedded 3 units with {model_id}"
    assert len(await store.unit_vectors(model_id, ids)) == 3

    ids.append((await store.insert_unit(new_unit())).id)
    again = await asyncio.to_thread(embed)
    assert again.output.strip() == f"embedded 1 units with {model_id}"
    assert await store.embedding_backlog(model_id) == 0
