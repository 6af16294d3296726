"""The retrieval evaluation's distractors (benchmarks/retrieval/evaluate.py ``--distractors``):
generated units loaded before the labelled set, on either backend, and the count of queries
that meet hybrid ranking's bounds among them."""

import asyncio
import json
from pathlib import Path

from benchmarks.retrieval import evaluate
from sqlalchemy import select

from colloquy.store import tables as t
from colloquy.store.factory import open_store

SET = Path(evaluate.__file__).parent
VOCABULARY = ["kafka", "offset", "rebalance"]


def unit_texts(url: str) -> list[str]:
    """Every unit's summary, detail and action, in one string each."""

    async def read() -> list[str]:
        store = open_store(url)
        try:
            u = t.units.c
            statement = select(u.summary, u.detail, u.action)
            rows = await store.database.read(lambda conn: conn.execute(statement).all())
            return [" ".join(row) for row in rows]
        finally:
            await store.close()

    return asyncio.run(read())


def test_each_run_gets_its_own_copy_of_the_distractors(backend, tmp_path):
    with evaluate.Databases(backend, 3, tmp_path, VOCABULARY) as databases:
        with databases.fresh() as first:
            texts = unit_texts(first)
            assert len(texts) == 3
            words = {w for text in texts for w in evaluate.tokenise(text)}
            # the distractors' text is slices of a stream of the vocabulary's words
            assert set(VOCABULARY) <= words
            assert all(any(word in whole for whole in VOCABULARY) for word in words)
            queries = [
                evaluate.Query("q-1", ("plain",), ("streaming",), (), (), "kafka offset", {})
            ]
            reached = evaluate.reach(first, queries)
            # both words are in every distractor: 3 + 3 index entries matched, no bound met
            assert reached["q"] == {"queries": 1, "capped": 0, "budget": 0, "postings": 6}
            assert reached["tags"]["postings"] == 0
        with databases.fresh() as second:
            assert second != first
            assert len(unit_texts(second)) == 3


def test_the_evaluation_runs_among_distractors(backend, tmp_path):
    units = tmp_path / "units.jsonl"
    units.write_text("".join(SET.joinpath("units.jsonl").read_text().splitlines(True)[:8]))
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(SET.joinpath("queries.jsonl").read_text().splitlines(True)[:4]))
    out = tmp_path / "retrieval.json"
    argv = ["--mode", "hybrid-q", "--backend", backend, "--distractors", "5", "--out", str(out)]
    assert evaluate.main([*argv, "--units", str(units), "--queries", str(queries)]) == 0
    report = json.loads(out.read_text())
    assert (report["backend"], report["distractors"], report["units"]) == (backend, 5, 8)
    (mode,) = report["modes"]
    assert mode["errors"] == {} and len(mode["rankings"]) == 4
    assert report["bounds"]["q"]["queries"] == 4
    assert report["bounds"]["q"]["postings"] > 0
