"""The A/B summary: each side's rounds combined, then B over A; each side's own corpus copy."""

import asyncio
from pathlib import Path

import pytest
from benchmarks import ab, load, run

from tests.support.pgserver import PostgresServer


def _round(requests: int, cpu_ms: float, throughput: float) -> dict:
    return {
        "requests": requests,
        "cpu_ms_per_request": cpu_ms,
        "throughput": throughput,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "errors": 0,
        "loadavg": [7.0, 7.1],
    }


def test_rounds_combine_weighted_by_requests():
    side = ab.combine([_round(100, 2.0, 10.0), _round(300, 4.0, 30.0)])
    assert side["cpu_ms_per_request"] == 3.5  # (100 × 2 + 300 × 4) / 400
    assert side["throughput"] == 20.0
    assert len(side["rounds"]) == 2


def test_ratios_are_b_over_a_and_each_side_over_its_own_health():
    results = {
        "health": {"A": ab.combine([_round(1000, 0.2, 2000.0)]),
                   "B": ab.combine([_round(1000, 0.25, 1900.0)])},
        "query": {"A": ab.combine([_round(100, 4.0, 50.0)]),
                  "B": ab.combine([_round(100, 3.0, 60.0)])},
    }  # fmt: skip
    ab.ratios(results)
    assert results["query"]["B/A"] == {"cpu_ms_per_request": 0.75, "throughput": 1.2}
    assert results["query"]["A"]["cpu_ratio"] == 20.0
    assert results["query"]["B"]["cpu_ratio"] == 12.0
    assert results["health"]["B/A"]["cpu_ms_per_request"] == 1.25


def test_postgres_figures_combine_when_every_round_has_them():
    rounds = [_round(100, 2.0, 10.0) | {"postgres_cpu_ms_per_request": 1.0},
              _round(300, 4.0, 30.0) | {"postgres_cpu_ms_per_request": 3.0}]  # fmt: skip
    assert ab.combine(rounds)["postgres_cpu_ms_per_request"] == 2.5
    assert "postgres_cpu_ms_per_request" not in ab.combine([_round(100, 2.0, 10.0)])


def test_each_side_serves_its_own_copy_of_the_postgres_corpus(
    pg_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(run, "WORK", tmp_path)
    url = pg_server.create_database("ab_corpus")
    loaded = asyncio.run(load.load(url, 40, seed=5, batch=20, progress=False))
    db = run.Corpus(url, tmp_path, {"units": loaded.size}, loaded.approved_ids)
    copies = {side: ab.side_copy(db, side, pg_server) for side in ab.SIDES}

    def units(url: str) -> int:
        database = url.rsplit("/", 1)[1]
        return int(pg_server.execute_sql("SELECT count(*) FROM units", database=database))

    assert copies["A"][1] != copies["B"][1] != url
    assert units(copies["A"][1]) == units(copies["B"][1]) == units(url) == 40
    pg_server.execute_sql("DELETE FROM units", database=copies["A"][1].rsplit("/", 1)[1])
    assert (units(copies["A"][1]), units(copies["B"][1]), units(url)) == (0, 40, 40)
    assert all(data_dir.is_dir() for data_dir, _ in copies.values())
