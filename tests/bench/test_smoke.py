"""The benchmark tools work end to end on a small corpus: load, serve, drive every workload.

No timing assertions (the machine may be busy); only that the tools produce sane numbers.
"""

import asyncio
import itertools
import random
from collections import Counter
from pathlib import Path

import httpx
import pytest
from benchmarks import corpus, load, loadgen, workloads
from benchmarks.server import CpuMeter, MemorySampler, credentials, serve
from benchmarks.workloads import Credentials

from colloquy.domain.models import ReviewStatus
from tests.support.pgserver import PostgresServer

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


@pytest.fixture(params=["sqlite", "postgres"])
def bench_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'colloquy.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = f"bench_{tmp_path.name[-20:].replace('-', '_').lower()}"
    return server.create_database(name)


def test_every_workload_against_a_live_server(bench_url: str, tmp_path: Path):
    loaded = asyncio.run(load.load(bench_url, SIZE, seed=11, batch=300, progress=False))
    assert loaded.size == SIZE and loaded.approved_ids
    creds: Credentials | None = None
    for settings, names in itertools.groupby(workloads.ORDER, key=workloads.settings_of):
        with serve(tmp_path, bench_url, settings=dict(settings)) as server:
            if creds is None:
                api_key, token = credentials(server)
                creds = Credentials(api_key, token, loaded.approved_ids)
            factories = workloads.factories(creds)
            cpu = CpuMeter({"server": server.process.pid})
            cpu.start()
            with MemorySampler(server.process.pid) as memory:
                for name in names:
                    result = asyncio.run(
                        loadgen.run(server.base_url, name, factories[name], SECONDS, concurrency=4)
                    )
                    summary = result.summary()
                    assert summary["requests"] > 0, name
                    assert summary["errors"] == 0, (name, summary["statuses"])
                    assert 0 < summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"]
                    assert summary["p99_ms"] <= summary["max_ms"]
                    if name == "query_mcp":  # a tool error would be answered 200 too
                        check_mcp_answer(server.base_url, factories[name])
                memory.sample()
            assert memory.peak_process_kib > 10_000
            cores = cpu.cores()
            assert cores.keys() == {"server", "client"}
            assert 0 < cores["server"] < 4 and 0 < cores["client"] < 4, cores


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
