"""The benchmark tools work end to end on a small corpus: load, serve, drive every workload.

No timing assertions (the machine may be busy); only that the tools produce sane numbers.
"""

import argparse
import asyncio
import itertools
import json
import random
from collections import Counter
from pathlib import Path

import httpx
import pytest
from benchmarks import corpus, load, loadgen, run, workloads
from benchmarks.server import MemorySampler, credentials, serve
from benchmarks.workloads import Credentials

from colloquy.domain.models import ReviewStatus

SIZE = 1_000
SECONDS = 2.0


def test_corpus_is_deterministic_and_skewed():
    first = [a.item.unit.id for a in itertools.islice(corpus.generate(500, seed=7), 50)]
    again = [a.item.unit.id for a in itertools.islice(corpus.generate(500, seed=7), 50)]
    assert first == again
    units = list(corpus.generate(5_000, seed=7))
    tags = Counter(d for a in units for d in a.item.unit.domains)
    (top, top_count), *_ = tags.most_common(1)
    assert top == "python" and top_count > 0.2 * len(units)
    statuses = Counter(a.item.status for a in units)
    assert statuses[ReviewStatus.APPROVED] > 0.8 * len(units)
    assert statuses[ReviewStatus.PENDING] and statuses[ReviewStatus.REJECTED]


def test_the_mcp_query_call_carries_the_rest_query_arguments():
    params = [("domains", "a"), ("domains", "b"), ("languages", "py"), ("limit", "5")]
    call = workloads.mcp_query_call([*params, ("pattern", "p")])
    assert call["method"] == "tools/call"
    assert call["params"] == {
        "name": "query",
        "arguments": {"domains": ["a", "b"], "languages": ["py"], "limit": 5, "pattern": "p"},
    }


def test_load_generator_refuses_non_loopback_targets():
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(
            loadgen.run("http://192.0.2.1:80", "x", lambda _r: loadgen.Request("GET", "/"), 0.1)
        )


def test_every_workload_against_a_live_server(bench_url: str, tmp_path: Path):
    loaded = asyncio.run(load.load(bench_url, SIZE, seed=11, batch=300, progress=False))
    assert loaded.size == SIZE and loaded.approved_ids
    args = argparse.Namespace(
        seed=corpus.DEFAULT_SEED, duration=SECONDS, concurrency=4, warmup=0.2,
        max_requests=loadgen.MAX_REQUESTS,
    )  # fmt: skip
    creds: Credentials | None = None
    results = {}
    for settings, names in itertools.groupby(workloads.ORDER, key=workloads.settings_of):
        with serve(tmp_path, bench_url, settings=dict(settings)) as server:
            if creds is None:
                api_key, token = credentials(server)
                creds = Credentials(api_key, token, loaded.approved_ids)
            with MemorySampler(server.process.pid) as memory:
                for name in names:
                    trees = {"server": server.process.pid}
                    summary = run.run_workload(server, name, creds, args, memory, trees)
                    assert summary["requests"] > 0, name
                    assert summary["errors"] == 0, (name, summary["statuses"])
                    assert 0 < summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"]
                    assert summary["p99_ms"] <= summary["max_ms"]
                    cores = summary["cpu_cores"]
                    assert cores.keys() == {"server", "client"}
                    assert 0 < cores["server"] < 4 and 0 < cores["client"] < 4, cores
                    # Every request costs the server some CPU, and far less than a second.
                    assert 0 < summary["cpu_ms_per_request"] < 1000, (name, summary)
                    results[name] = summary
                    if name == "query_mcp":  # a tool error would be answered 200 too
                        check_mcp_answer(server.base_url, workloads.factories(creds)[name])
                assert memory.peak_process_kib > 10_000
    run.add_cpu_ratios(results)
    assert results["health"]["cpu_ratio"] == 1.0
    assert all(r["cpu_ratio"] > 0 for r in results.values()), results
    assert set(results) == set(workloads.ORDER)


def test_flags_are_a_realistic_mix():
    factory = workloads.factories(Credentials("k", "t", ["ku_a", "ku_b", "ku_c"]))["flag"]
    rng = random.Random(3)
    bodies = [json.loads(factory(rng).body) for _ in range(400)]
    reasons = Counter(b["reason"] for b in bodies)
    assert reasons.keys() == {"stale", "incorrect", "duplicate"}
    assert reasons["stale"] > reasons["incorrect"] > reasons["duplicate"]
    assert all(("duplicate_of" in b) == (b["reason"] == "duplicate") for b in bodies)
    assert 0.3 < sum("detail" in b for b in bodies) / len(bodies) < 0.7


def test_request_budget_bounds_a_run(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'colloquy.db'}"
    asyncio.run(load.load(url, 10, progress=False))
    with serve(tmp_path, url) as server:
        factory = workloads.factories(Credentials("", "", []))["health"]
        result = asyncio.run(
            loadgen.run(server.base_url, "health", factory, 30.0, concurrency=2, max_requests=50)
        )
    assert result.requests == 50
    assert result.seconds < 30.0


def check_mcp_answer(base_url: str, factory: loadgen.RequestFactory) -> None:
    request = factory(random.Random(3))
    answer = httpx.post(
        base_url + request.path, content=request.body, headers=dict(request.headers), timeout=60
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["isError"] is False, result
    assert isinstance(result["structuredContent"]["data"], list)
