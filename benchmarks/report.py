"""Render ``benchmarks/results/*.json`` as Markdown (targets with pass/fail) and a PNG chart.

    python -m benchmarks.report [--results benchmarks/results]

Targets are checked only against what was measured: a target at a size that no run reached is
shown as "not measured", with the figure at the largest measured size for orientation, so a
quick ``BENCH_SIZES=10000,100000`` run never claims a pass it did not earn. Targets are judged
on the runs at the default concurrency (8); the latency targets on their pass at one request
per core (``run.LATENCY_WORKLOADS``), with the figure at 8 beside it, not judged (it is mostly
queueing on few cores). Runs from before that pass existed show those as "not measured".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.run import DEFAULT_CONCURRENCY, RESULTS

MIB_PER_MB = 1_000_000 / 1_048_576
Run = dict[str, Any]


@dataclass(frozen=True)
class ResultSet:
    """One results file: a backend at a worker count and a concurrency, with its runs by
    corpus size."""

    backend: str
    workers: int
    header: dict[str, Any]
    runs: dict[int, Run]

    @property
    def concurrency(self) -> int:
        return int(self.header.get("concurrency", DEFAULT_CONCURRENCY))

    @property
    def label(self) -> str:
        workers = f" ×{self.workers} workers" if self.workers > 1 else ""
        other = self.concurrency != DEFAULT_CONCURRENCY
        return f"{self.backend}{workers}" + (f", concurrency {self.concurrency}" if other else "")


def read_results(directory: Path) -> list[ResultSet]:
    """Every results file (``run.results_path``), the default concurrency's first."""
    sets = []
    for path in directory.glob("*-w*.json"):
        data = json.loads(path.read_text())
        runs = {int(size): run for size, run in data.get("runs", {}).items()}
        sets.append(ResultSet(data["backend"], data["workers"], data, runs))
    return sorted(sets, key=lambda s: (s.backend, s.workers, s.concurrency != DEFAULT_CONCURRENCY,
                                       s.concurrency))  # fmt: skip


def latency_pass(run: Run, rs: ResultSet) -> Run | None:
    """What the latency targets are judged on: the run's pass at one request per core
    (``latency`` in its JSON), or the run itself when its concurrency is the machine's cores."""
    if "latency" in run:
        return run["latency"]
    return run if rs.concurrency == rs.header["machine"]["nproc"] else None


def latency_concurrency(run: Run, rs: ResultSet) -> int:
    """The concurrency of ``latency_pass``; the machine's cores when there is none."""
    measured = latency_pass(run, rs)
    if measured is None:
        return int(rs.header["machine"]["nproc"])
    return int(measured.get("concurrency", rs.concurrency))


def _w(run: Run, workload: str, key: str) -> float | None:
    value = run.get("workloads", {}).get(workload, {}).get(key)
    return None if value is None else float(value)


Figure = Callable[[Run, ResultSet, list[ResultSet]], float | None]


@dataclass(frozen=True)
class Target:
    """A goal from the issue: a figure taken from the runs at one size, and a bound that the
    figure must be below (``op`` "<"), at most ("≤") or at least ("≥"). A latency target's
    figure is from the pass at one request per core, and ``queueing`` is the same figure at
    the run's own concurrency, shown beside it and not judged."""

    name: str
    size: int
    unit: str
    op: str
    bound: float
    figure: Figure
    queueing: Figure | None = None

    def check(self, value: float) -> bool:
        return {"<": value < self.bound, "≤": value <= self.bound, "≥": value >= self.bound}[
            self.op
        ]


def _cpu_ratio(workload: str) -> Callable[[Run, ResultSet, list[ResultSet]], float | None]:
    """Server CPU per request over health's in the same run (``run.add_cpu_ratios``)."""
    return lambda run, _rs, _all: _w(run, workload, "cpu_ratio")


def _floor_ratio(workload: str) -> Callable[[Run, ResultSet, list[ResultSet]], float | None]:
    """The serving side's CPU per request over the workload's SQL floor in the same run
    (``sql_floor.add_floor``)."""
    return lambda run, _rs, _all: _w(run, workload, "floor_ratio")


def _latency(workload: str, key: str) -> Figure:
    return lambda run, _rs, _all: _w(run, workload, key)


def _at_cores(workload: str, key: str) -> Figure:
    """A latency figure from the pass at one request per core (``latency_pass``)."""

    def figure(run: Run, rs: ResultSet, _all: list[ResultSet]) -> float | None:
        measured = latency_pass(run, rs)
        return None if measured is None else _w(measured, workload, key)

    return figure


def _latency_target(name: str, workload: str, key: str, bound: float) -> Target:
    judged, queued = _at_cores(workload, key), _latency(workload, key)
    return Target(name, 1_000_000, "ms", "<", bound, judged, queued)


def _rss(run: Run, _rs: ResultSet, _all: list[ResultSet]) -> float | None:
    peak = run.get("rss_peak_mib")
    return None if peak is None else float(peak) / MIB_PER_MB


def per_core(run: Run, workload: str = "query") -> float | None:
    """Requests per second per CPU core that the serving side used: the server's process tree
    and, on PostgreSQL, the database's. On a machine with few cores the load generator takes
    its share too, so throughput cannot grow with workers; this can still be compared."""
    w = run.get("workloads", {}).get(workload)
    if not w:
        return None
    cores = w.get("cpu_cores", {})
    used = cores.get("server", 0.0) + cores.get("postgres", 0.0)
    return float(w["throughput"]) / used if used else None


def _per_core_ratio(run: Run, rs: ResultSet, every: list[ResultSet]) -> float | None:
    """Query throughput per core of this multi-worker run over the one-worker run's, same
    size: below 1 when workers spend CPU on contention (locks, retries) rather than work."""
    single = next((s for s in every if (s.backend, s.workers, s.concurrency)
                   == (rs.backend, 1, rs.concurrency)), None)  # fmt: skip
    base = single.runs.get(run["size"]) if single else None
    mine, theirs = per_core(run), base and per_core(base)
    return mine / theirs if mine and theirs else None


CPU = "× health CPU/req"
FLOOR = "× SQL floor"
QUERIES = (("query", "query"), ("query_q", "query with q"), ("query_cq", "query on cq ranking"))
TARGETS = (
    *(
        Target(f"{label} CPU/request ≤ 2× its SQL floor", 100_000, FLOOR, "≤", 2, _floor_ratio(w))
        for w, label in QUERIES
    ),
    Target("confirm CPU/request ≤ 17× health's", 100_000, CPU, "≤", 17, _cpu_ratio("confirm")),
    Target("flag CPU/request ≤ 17× health's", 100_000, CPU, "≤", 17, _cpu_ratio("flag")),
    Target("propose CPU/request ≤ 19× health's", 100_000, CPU, "≤", 19, _cpu_ratio("propose")),
    _latency_target("query p99 < 50 ms", "query", "p99_ms", 50),
    _latency_target("query with q p99 < 50 ms", "query_q", "p99_ms", 50),
    _latency_target("query, cq ranking, p99 < 50 ms", "query_cq", "p99_ms", 50),
    _latency_target("knowledge/stats p50 < 20 ms", "knowledge_stats", "p50_ms", 20),
    _latency_target("review/stats p50 < 20 ms", "review_stats", "p50_ms", 20),
    Target("server RSS under load < 250 MB", 1_000_000, "MB", "<", 250, _rss),
)
PER_CORE = Target(
    "query req/s per core, several workers ≥ 0.8× one worker's", 0, "×", "≥", 0.8, _per_core_ratio
)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def _size(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


def _measured(target: Target, value: float | None, run: Run, rs: ResultSet) -> str:
    """A target's figure as the table shows it: a latency one with the concurrency it was
    measured at, and the run's own concurrency's figure beside it."""
    text = "not measured" if value is None else _fmt(value, target.unit)
    if target.queueing is None:
        return text
    if latency_pass(run, rs) is run:  # as many cores as the run's concurrency: one pass
        return f"{text} at concurrency {rs.concurrency}"
    queued = target.queueing(run, rs, [])
    if value is None and queued is None:  # the workload did not run
        return text
    return (
        f"{text} at concurrency {latency_concurrency(run, rs)}; "
        f"at {rs.concurrency}: {_fmt(queued, target.unit)}, queueing, not judged"
    )


def _verdict(target: Target, value: float | None) -> str:
    return "–" if value is None else "**pass**" if target.check(value) else "**FAIL**"


def target_rows(sets: list[ResultSet]) -> list[str]:
    rows = [
        "| target | backend | size | measured | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    judged = [s for s in sets if s.concurrency == DEFAULT_CONCURRENCY]
    for rs in (s for s in judged if s.workers == 1):
        for target in TARGETS:
            run = rs.runs.get(target.size)
            value = target.figure(run, rs, sets) if run else None
            # A latency target's row shows the figure at 8 even when the pass at one request
            # per core is missing (runs from before it existed).
            if run is not None and (value is not None or target.queueing is not None):
                rows.append(
                    f"| {target.name} | {rs.backend} | {_size(target.size)} "
                    f"| {_measured(target, value, run, rs)} | {_verdict(target, value)} |"
                )
                continue
            largest = max((s for s in rs.runs if s < target.size), default=None)
            hint = ""
            if largest is not None:
                seen = target.figure(rs.runs[largest], rs, sets)
                hint = f" (at {_size(largest)}: {_measured(target, seen, rs.runs[largest], rs)})"
            rows.append(
                f"| {target.name} | {rs.backend} | {_size(target.size)} | not measured{hint} | – |"
            )
    for rs in (s for s in judged if s.workers > 1):
        for size, run in sorted(rs.runs.items()):
            value = PER_CORE.figure(run, rs, sets)
            rows.append(
                f"| {PER_CORE.name} ({rs.workers} workers) | {rs.backend} | {_size(size)} "
                f"| {_fmt(value, PER_CORE.unit)} | {_verdict(PER_CORE, value)} |"
            )
    return rows


def run_tables(rs: ResultSet) -> list[str]:
    lines = []
    for size, run in sorted(rs.runs.items()):
        load = run["load"]
        cached = " (cached corpus)" if load.get("cached") else ""
        lines += [
            f"### {rs.label}, {size:,} units",
            "",
            f"Loaded in {load['seconds']} s, {load['units_per_second']:,} units/s{cached}; "
            f"idle RSS {run.get('idle_rss_mib') or '–'} MiB (process tree); "
            f"code {run.get('commit', rs.header['versions']['commit'])}; "
            f"finished {run.get('finished', '?')}.",
            "",
            *workload_table(run),
            "",
        ]
        if "latency" in run:
            again = run["latency"]
            lines += [
                f"The latency workloads again at concurrency {again['concurrency']} (one request "
                "per core), each right after its pass above, on the same server: the latency "
                "targets are judged on these.",
                "",
                *workload_table(again),
                "",
            ]
    return lines


def workload_table(run: Run) -> list[str]:
    """One pass's workloads (a run's, or its ``latency`` pass's), a row each."""
    lines = [
        "| workload | req/s | req/s per core | CPU ms/req | CPU × health | SQL floor ms "
        "| CPU ÷ SQL floor | p50 ms | p90 ms | p99 ms | max ms | requests | errors "
        "| peak RSS MiB | CPU cores | load avg |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | --- | --- |",
    ]
    for name, w in run["workloads"].items():
        avg = "→".join(f"{v:.1f}" for v in w.get("loadavg", []))
        cores = " · ".join(f"{who} {n:.2f}" for who, n in w.get("cpu_cores", {}).items())
        lines.append(
            f"| {name} | {w['throughput']:,.1f} | {_fmt(per_core(run, name))} "
            f"| {_fmt(w.get('cpu_ms_per_request'))} "
            f"| {_fmt(w.get('cpu_ratio'))} "
            f"| {_fmt(w.get('sql_floor', {}).get('ms_per_query'))} "
            f"| {_fmt(w.get('floor_ratio'))} "
            f"| {w['p50_ms']} | {w['p90_ms']} | {w['p99_ms']} | {w['max_ms']} "
            f"| {w['requests']:,} | {w['errors']} | {w['rss_peak_mib']} | {cores or '–'} "
            f"| {avg} |"
        )
    return lines


def render_markdown(sets: list[ResultSet], chart: str | None) -> str:
    first = sets[0].header
    m, v = first["machine"], first["versions"]
    pg_version = next(
        (s.header["versions"].get("postgresql") for s in sets if s.backend == "postgres"), None
    )
    lines = [
        "# colloquy benchmark results",
        "",
        "Generated by `python -m benchmarks.report` from the JSON files beside this one; "
        "see `benchmarks/README.md` for what is measured and how.",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, "
        f"Linux {m['kernel']}. Client and server share these CPUs.",
        f"- Versions: Python {v['python']}, colloquy {v['colloquy']}, "
        f"SQLite {v['sqlite']}, PostgreSQL {pg_version or '–'}, FastAPI {v['fastapi']}, "
        f"uvicorn {v['uvicorn']}, SQLAlchemy {v['sqlalchemy']}.",
        f"- Load: closed loop, concurrency {first['concurrency']} unless stated, "
        f"{first['duration']} s per workload after a 1 s warm-up; one server process unless "
        "stated. The load average column shows how busy the machine was (anything near or "
        "above the CPU count means the figures are depressed by other work).",
        "- Latency targets are judged at one request per core: each workload with a latency "
        "target runs again right after its first pass, on the same server, at a concurrency "
        "equal to the machine's CPUs (its own table under each run). In a closed loop the "
        "mean latency is "
        "the concurrency over the throughput, and the throughput is at most the cores over "
        "the CPU per request, so at 8 on 2 cores a request mostly waits behind the others: "
        "that figure is shown beside the judged one, not judged. Runs from before this pass "
        "existed show the latency targets as not measured.",
        "- CPU ms/req: the server's CPU time per counted request; CPU × health: that over "
        "`/api/v1/health`'s in the same run, the figure the write targets are stated in. "
        "SQL floor: the CPU per query of the statements behind the workload's queries, "
        "replayed on the bare driver in the same run (on PostgreSQL, the database's CPU "
        "included); CPU ÷ SQL floor: the serving side's CPU per request (on PostgreSQL, the "
        "server's plus the database's) over it, the figure the query targets are stated in.",
        "",
        "## Targets",
        "",
        *target_rows(sets),
        "",
    ]
    if chart:
        lines += [f"![latency and throughput against corpus size]({chart})", ""]
    lines += ["## Runs", ""]
    for rs in sets:
        lines += run_tables(rs)
    return "\n".join(lines)


def render_chart(sets: list[ResultSet], path: Path) -> bool:
    """Query latency, throughputs and memory against corpus size; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (lat, thr, mem) = plt.subplots(1, 3, figsize=(16, 5))
    for rs in sets:
        sizes = sorted(rs.runs)
        if not sizes:
            continue

        def series(
            workload: str, key: str, runs: dict[int, Run] = rs.runs, sizes: list[int] = sizes
        ) -> list[float | None]:
            return [_w(runs[s], workload, key) for s in sizes]

        label = rs.label
        lat.plot(sizes, series("query", "p99_ms"), "o-", label=f"{label}: query p99")
        lat.plot(sizes, series("query", "p50_ms"), "o--", label=f"{label}: query p50")
        lat.plot(sizes, series("query_q", "p99_ms"), "^-", label=f"{label}: query with q p99")
        lat.plot(sizes, series("query_cq", "p99_ms"), "v-", label=f"{label}: query, cq, p99")
        if rs.workers == 1:
            lat.plot(sizes, series("knowledge_stats", "p50_ms"), "s:", label=f"{label}: stats p50")
            # The figures the latency targets are judged on, where runs have them.
            passes = [latency_pass(rs.runs[s], rs) or {} for s in sizes]
            for name, key, style in (("query", "p99_ms", "D-"), ("review_stats", "p50_ms", "D:")):
                if any(passes):
                    lat.plot(sizes, [_w(p, name, key) for p in passes], style, lw=2,
                             label=f"{label}: {name} {key[:3]}, one request per core")  # fmt: skip
        for workload in ("health", "query", "confirm", "propose"):
            if rs.workers == 1 or workload in ("health", "query"):
                thr.plot(sizes, series(workload, "throughput"), "o-", label=f"{label}: {workload}")
        mem.plot(sizes, [rs.runs[s].get("rss_peak_mib") for s in sizes], "o-", label=label)
    lat.axhline(50, color="grey", lw=0.8, ls="--")
    lat.set(title="Latency (ms); ◆ one request per core", xscale="log", yscale="log",
            xlabel="units in corpus")  # fmt: skip
    thr.set(title="Throughput (req/s)", xscale="log", yscale="log", xlabel="units in corpus")
    mem.axhline(250 * MIB_PER_MB, color="grey", lw=0.8, ls="--")
    mem.set(title="Server peak RSS under load (MiB)", xscale="log", xlabel="units in corpus")
    for ax in (lat, thr, mem):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sets = read_results(args.results)
    if not sets:
        raise SystemExit(f"no results in {args.results}; run `python -m benchmarks.run` first")
    chart = "chart.png" if render_chart(sets, args.results / "chart.png") else None
    out = args.results / "RESULTS.md"
    out.write_text(render_markdown(sets, chart))
    print(
        f"wrote {out}"
        + (f" and {args.results / chart}" if chart else " (no chart: matplotlib missing)")
    )


if __name__ == "__main__":
    main()
