"""The A/B summary: each side's rounds combined, then B over A."""

from benchmarks import ab


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
