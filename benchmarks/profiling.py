"""Profile the server under each workload with py-spy and attribute its CPU by category.

    python -m benchmarks.profiling --backend sqlite --size 100000 [--workloads query,confirm]

One ``colloquy serve`` process on the benchmark corpus (``run.py``'s, cached for SQLite), and
per workload ``py-spy record`` (Python frames only, idle threads left out) while the load runs.
The raw stacks land in ``benchmarks/.work/profiles/``; ``attribution.py`` sorts the samples into
categories, and the table is written to ``benchmarks/results/profile-<backend>-<size>.md`` (copy
it into ``benchmarks/PROFILE.md`` with a note on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.pgserver import PostgresServer

from benchmarks import attribution, corpus, loadgen, run, workloads
from benchmarks.server import CpuMeter, credentials, serve
from benchmarks.workloads import Credentials

PY_SPY = Path(sys.executable).with_name("py-spy")
PROFILES = run.WORK / "profiles"
DEFAULT_WORKLOADS = ("health", "query", "confirm", "flag", "propose")
ATTACH_SECONDS = 1.0


def record(
    server_pid: int, out: Path, rate: int, load: Any, cpu: CpuMeter
) -> tuple[Any, dict[str, Any]]:
    """Run ``load`` (a coroutine) while py-spy samples the server; stop py-spy after it."""
    spy = subprocess.Popen(  # noqa: S603 - our venv's py-spy, fixed arguments
        [str(PY_SPY), "record", "--pid", str(server_pid), "--rate", str(rate),
         "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        time.sleep(ATTACH_SECONDS)
        result = asyncio.run(load)
        used, wall = cpu.seconds()
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on interrupt
        _, err = spy.communicate(timeout=60)
    if not out.exists():
        raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-2000:]}")
    return result, run.cpu_per_request(used, wall, result.requests)


def profile(args: argparse.Namespace) -> dict[str, Any]:
    names = [n for n in args.workloads.split(",") if n]
    PROFILES.mkdir(parents=True, exist_ok=True)
    found: dict[str, Any] = {}
    with ExitStack() as stack:
        pg = stack.enter_context(PostgresServer()) if args.backend == "postgres" else None
        if pg is not None:
            db = run.postgres_corpus(pg, args.size, args.seed, args.batch)
        else:
            db = run.sqlite_corpus(args.size, args.seed, args.batch)
        server = stack.enter_context(serve(db.data_dir, db.url))
        api_key, token = credentials(server)
        creds = Credentials(api_key, token, db.approved_ids)
        factories = workloads.factories(creds, args.seed)
        for name in names:
            out = PROFILES / f"{args.backend}-{args.size}-{name}.txt"
            out.unlink(missing_ok=True)
            cpu = CpuMeter({"server": server.process.pid})
            before = run.loadavg()
            load = loadgen.run(
                server.base_url,
                name,
                factories[name],
                args.duration,
                args.concurrency,
                warmup=args.warmup,
                on_measure=cpu.start,
            )
            result, cpu_fields = record(server.process.pid, out, args.rate, load, cpu)
            summary = attribution.read_raw(out)
            found[name] = {
                "attribution": summary,
                "requests": result.requests,
                "errors": result.errors,
                "loadavg": [before, run.loadavg()],
                **cpu_fields,
            }
            run.console.print(
                f"  {name:10} {result.requests} requests, {summary.samples} samples, "
                f"CPU {cpu_fields['cpu_ms_per_request']} ms/req (under the profiler)"
            )
    return found


def render(args: argparse.Namespace, found: dict[str, Any]) -> str:
    names = list(found)
    loads = [v for f in found.values() for v in f["loadavg"]]
    head = "| category | " + " | ".join(names) + " |"
    rule = "| --- |" + " ---: |" * len(names)
    lines = [
        f"### {args.backend}, {args.size:,} units, one server process",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, code {run.git_commit()}, py-spy at "
        f"{args.rate} Hz (Python frames only, idle threads excluded), concurrency "
        f"{args.concurrency}, {args.duration:g} s per workload; 1-minute load average "
        f"{min(loads):.1f}–{max(loads):.1f} on {run.machine()['nproc']} CPUs during the run.",
        "",
        "Samples per workload (busy, and waiting left out): "
        + ", ".join(
            f"{n} {found[n]['attribution'].samples:,} and {found[n]['attribution'].waiting:,}"
            for n in names
        )
        + ". Server CPU per request under the profiler (ms): "
        + ", ".join(f"{n} {found[n]['cpu_ms_per_request']}" for n in names)
        + ".",
        "",
        "**Self share** (each sample counted once, in the innermost matching category):",
        "",
        head,
        rule,
    ]
    for category in attribution.CATEGORIES:
        shares = [found[n]["attribution"].share(category) for n in names]
        lines.append(f"| {category} | " + " | ".join(f"{100 * s:.1f}%" for s in shares) + " |")
    lines += [
        "",
        "**Cumulative share** (samples with the category anywhere on the stack):",
        "",
        head,
        rule,
    ]
    for category in (c for c in attribution.CATEGORIES[:-1] if c not in attribution.ENCLOSING):
        shares = [found[n]["attribution"].share(category, cumulative=True) for n in names]
        lines.append(f"| {category} | " + " | ".join(f"{100 * s:.1f}%" for s in shares) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per workload")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--batch", type=int, default=2_000)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    table = render(args, profile(args))
    out = run.RESULTS / f"profile-{args.backend}-{args.size}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
