"""A/B: the working tree (B) against a base commit (A), interleaved in one run.

    python -m benchmarks.ab [--base REF] [--size 100000] [--workloads health,query,confirm]

The base is ``--base`` if given, else ``HEAD`` when the working tree has uncommitted changes,
else ``HEAD~1``: the change being made against the code before it. Its source is exported with
``git archive`` into ``benchmarks/.work/ab/<commit>/`` with a venv of its own (``uv sync
--frozen``, kept for the next run), so its server runs its own code. Both sides serve copies
of the same cached SQLite corpus (built by this tree's loader: the base must have the same
migrations), each in its own ``colloquy serve`` process, both started before the first
workload. Each workload then runs A, B, A, B, ... (``--rounds``), so a machine whose load
drifts during the run drifts for both. Reported per workload: the server's CPU per request and
the throughput of each side, and B/A.

With ``--backend postgres`` that corpus is copied once into a private PostgreSQL server
(``run.postgres_corpus``) and each side serves its own database copied from it (``CREATE
DATABASE ... TEMPLATE``, a file-level copy), on the same server.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rich.table import Column, Table
from tests.support.pgserver import PostgresServer

from benchmarks import corpus, load, loadgen, run, workloads
from benchmarks.server import COLLOQUY, MemorySampler, credentials, serve
from benchmarks.workloads import Credentials

REPO = run.ROOT.parent
CHECKOUTS = run.WORK / "ab"
MIGRATIONS = Path("src/colloquy/store/migrations")
SIDES = ("A", "B")


def git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own refs and options
        ["git", *args],  # noqa: S607 - git from PATH
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def base_commit(ref: str | None) -> str:
    """The commit to compare against (see the module's docstring for the default)."""
    if ref is None:
        dirty = git("status", "--porcelain", "--untracked-files=no")
        ref = "HEAD" if dirty else "HEAD~1"
    return git("rev-parse", "--verify", f"{ref}^{{commit}}")


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(found).exists() and shutil.which(found) is None:
        raise SystemExit("uv not found: set UV=/path/to/uv")
    return found


def checkout(commit: str) -> Path:
    """The base's source and venv under ``benchmarks/.work/ab/``, made once per commit; the
    path of its ``colloquy`` executable, checked to import the checkout's own code."""
    root = CHECKOUTS / commit[:12]
    program = root / ".venv" / "bin" / "colloquy"
    ready = root / ".ab-ready"
    if not ready.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        archive = subprocess.run(  # noqa: S603 - a resolved commit id
            ["git", "archive", "--format=tar", commit],  # noqa: S607 - git from PATH
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        untar = ["tar", "-x", "-C", str(root)]
        subprocess.run(untar, input=archive.stdout, check=True)  # noqa: S603 - tar from PATH
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        subprocess.run([uv(), "sync", "--frozen", "--quiet"], cwd=root, env=env, check=True)  # noqa: S603
        ready.write_text(commit + "\n")
    where = subprocess.run(  # noqa: S603 - the checkout's own interpreter
        [str(program.with_name("python")), "-c", "import colloquy; print(colloquy.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"the base's venv imports colloquy from {where}, not from {root}")
    return program


def migrations_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / MIGRATIONS).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def side_copy(db: run.Corpus, side: str, pg: PostgresServer | None = None) -> tuple[Path, str]:
    """A data directory and a database URL with its own copy of the corpus for one side: a
    copy of the SQLite file, or on ``pg`` a database made from the corpus's as a template."""
    data_dir = run.WORK / "runs" / f"ab-{side}-{db.load['units']}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if pg is None:
        shutil.copyfile(db.data_dir / "colloquy.db", data_dir / "colloquy.db")
        return data_dir, f"sqlite:///{data_dir / 'colloquy.db'}"
    name = f"ab_{side.lower()}"
    pg.drop_database(name)
    return data_dir, pg.create_database(name, template=unquote(urlsplit(db.url).path[1:]))


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One side of one workload over its rounds: requests-weighted CPU per request (and
    PostgreSQL's, when measured), mean throughput, and the rounds' own figures."""
    combined = {
        "cpu_ms_per_request": _per_request(rounds, "cpu_ms_per_request"),
        "throughput": round(sum(r["throughput"] for r in rounds) / len(rounds), 1),
        "p50_ms": [r["p50_ms"] for r in rounds],
        "p99_ms": [r["p99_ms"] for r in rounds],
        "errors": sum(r["errors"] for r in rounds),
        "rounds": [
            {k: r[k] for k in ("throughput", "cpu_ms_per_request", "requests", "loadavg")}
            for r in rounds
        ],
    }
    if all("postgres_cpu_ms_per_request" in r for r in rounds):
        combined["postgres_cpu_ms_per_request"] = _per_request(
            rounds, "postgres_cpu_ms_per_request"
        )
    return combined


def _per_request(rounds: list[dict[str, Any]], key: str) -> float | None:
    """``key`` (a per-request figure) over all of ``rounds``, weighted by their requests."""
    requests = sum(r["requests"] for r in rounds)
    total = sum(r[key] * r["requests"] for r in rounds if r["requests"])
    return round(total / requests, 4) if requests else None


def compare(
    args: argparse.Namespace, program_a: Path, pg: PostgresServer | None = None
) -> dict[str, Any]:
    """Every workload, A and B interleaved, on SQLite or (given ``pg``) on PostgreSQL, whose
    CPU is then counted per request too."""
    names = [n for n in workloads.ORDER if n in args.workloads.split(",")]
    if "health" not in names:
        names.insert(0, "health")
    if pg is None:
        db = run.sqlite_corpus(args.size, args.seed, load.DEFAULT_BATCH)
    else:
        db = run.postgres_corpus(pg, args.size, args.seed, load.DEFAULT_BATCH)
    programs = {"A": program_a, "B": COLLOQUY}
    copies = {side: side_copy(db, side, pg) for side in SIDES}
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {}
    creds: dict[str, Credentials] = {}
    for settings, group in itertools.groupby(names, key=workloads.settings_of):
        with ExitStack() as stack:
            servers, memory = {}, {}
            for side in SIDES:
                data_dir, url = copies[side]
                servers[side] = stack.enter_context(
                    serve(data_dir, url, settings=dict(settings), program=programs[side])
                )
                if side not in creds:
                    api_key, token = credentials(servers[side])
                    creds[side] = Credentials(api_key, token, db.approved_ids)
                memory[side] = stack.enter_context(MemorySampler(servers[side].process.pid))
            for name in group:
                rounds[name] = {side: [] for side in SIDES}
                for index, side in itertools.product(range(args.rounds), SIDES):
                    run.console.print(f"[dim]round {index + 1}, {side}:[/dim]", end="")
                    server = servers[side]
                    trees = {"server": server.process.pid}
                    if pg is not None:  # one side at a time: its CPU is this side's
                        trees["postgres"] = run.postmaster_pid(pg)
                    rounds[name][side].append(
                        run.run_workload(server, name, creds[side], args, memory[side], trees)
                    )
    return {name: {side: combine(r[side]) for side in SIDES} for name, r in rounds.items()}


def ratios(results: dict[str, Any]) -> None:
    """B/A per workload, and each side's CPU per request over its own health's."""
    health = results.get("health", {})
    for sides in results.values():
        a, b = sides["A"], sides["B"]
        for side, figures in sides.items():
            base = health.get(side, {}).get("cpu_ms_per_request")
            mine = figures["cpu_ms_per_request"]
            figures["cpu_ratio"] = round(mine / base, 2) if mine and base else None
        sides["B/A"] = {
            "cpu_ms_per_request": _over(b["cpu_ms_per_request"], a["cpu_ms_per_request"]),
            "throughput": _over(b["throughput"], a["throughput"]),
        }


def _over(b: float | None, a: float | None) -> float | None:
    return round(b / a, 3) if a and b else None


def print_table(results: dict[str, Any]) -> None:
    table = Table(
        Column("workload", no_wrap=True), "A CPU ms/req", "B CPU ms/req", "CPU B/A",
        "A req/s", "B req/s", "req/s B/A", "A × health", "B × health", box=None,
    )  # fmt: skip
    for name, s in results.items():
        a, b, ba = s["A"], s["B"], s["B/A"]
        table.add_row(
            name,
            f"{a['cpu_ms_per_request']}",
            f"{b['cpu_ms_per_request']}",
            f"{ba['cpu_ms_per_request']}",
            f"{a['throughput']:,.1f}",
            f"{b['throughput']:,.1f}",
            f"{ba['throughput']}",
            f"{a['cpu_ratio']}",
            f"{b['cpu_ratio']}",
        )
    run.console.print(table, width=max(run.console.width, 150))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="commit or ref for side A (default: see above)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument(
        "--workloads", default="health,query,confirm,flag,propose", help="comma-separated"
    )
    parser.add_argument("--rounds", type=int, default=2, help="A, B pairs per workload")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=loadgen.MAX_REQUESTS)
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    commit = base_commit(args.base)
    program_a = checkout(commit)
    if migrations_digest(program_a.parents[2]) != migrations_digest(REPO):
        raise SystemExit(f"{commit[:12]} has other migrations: an A/B needs one schema")
    run.console.rule(
        f"A/B on {args.backend} at {args.size:,} units: A = {commit[:12]}, B = {run.git_commit()}"
    )
    with ExitStack() as stack:
        pg = stack.enter_context(PostgresServer()) if args.backend == "postgres" else None
        results = compare(args, program_a, pg)
    ratios(results)
    print_table(results)
    out = run.RESULTS / f"ab-{args.backend}-{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "a": commit,
        "b": run.git_commit(),
        "backend": args.backend,
        "size": args.size,
        "rounds": args.rounds,
        "duration": args.duration,
        "concurrency": args.concurrency,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": run.machine(),
    }
    out.write_text(json.dumps(header | {"workloads": results}, indent=2) + "\n")
    run.console.print(f"results: {out}")


if __name__ == "__main__":
    sys.exit(main())
