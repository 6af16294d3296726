"""Retrieval quality on the labelled set: nDCG@5, recall@5 and MRR per ranking mode.

    python -m benchmarks.retrieval.evaluate                      # every mode
    python -m benchmarks.retrieval.evaluate --mode cq,bm25-tags  # some of them
    python -m benchmarks.retrieval.evaluate --mode hybrid-tags,hybrid-q \
        --backend postgres --distractors 100000                  # the set among 100k others

Server modes load ``units.jsonl`` into a real ``colloquy serve`` (a fresh database: SQLite, or
with ``--backend postgres`` a private PostgreSQL, ``tests/support/pgserver.py``;
``benchmarks/server.py``): every unit is proposed over HTTP with an API key and approved with
a reviewer's session, keeping a map from the set's ids (``ev-0001``) to the server's. Then every
query of ``queries.jsonl`` is sent as ``GET /api/v1/knowledge`` with its ``domains``,
``languages`` and ``frameworks`` and ``limit=5`` (plus ``q`` in ``hybrid-q``), and the answer is
mapped back and scored. Offline modes rank the same units with BM25, standard library only.

Modes:

- ``cq``: the server's ranking as cq defines it (``CQ_RANKING=cq`` where the server has that
  setting; today's server has no other ranking).
- ``hybrid-tags``: ``CQ_RANKING=hybrid`` (issue 13), the same request as ``cq``. Available only
  when the server's settings have a ``ranking`` field.
- ``hybrid-q``: ``CQ_RANKING=hybrid`` with the query's ``q`` sent too. Available only when the
  server accepts ``q`` without ``domains`` (today's server answers 422: ``domains`` is
  required, and an unknown ``q`` beside ``domains`` would be silently ignored, so that request
  cannot tell).
- ``semantic-tags``, ``semantic-q``: as the two ``hybrid`` modes, with ``CQ_SEMANTIC=on`` (the
  hybrid answer re-ordered by meaning when the query has ``q``, so ``semantic-tags`` checks
  that tags alone are left as they were; ``colloquy embed`` vectors every unit before the
  queries). Available only with the ``colloquy[semantic]`` extra installed; the ``hybrid`` modes
  run with ``CQ_SEMANTIC=off``, so that they measure the lexical ranking alone.
- ``bm25-tags``: BM25 over summary + detail + action on the query's tag words (domains,
  languages, frameworks).
- ``bm25-q``: BM25 on the query's ``q`` plus its tag words.

A mode that the server does not support is reported as "not available on this server"; no
figure is made up for it.

Metrics (each query, then the mean over queries; a query counts in every kind it carries):

- nDCG@5: gains are the grades (3, 2, 1; unlisted units 0), discount ``log2(rank + 1)``; the
  ideal is the query's own judgements sorted by grade, cut at 5.
- recall@5: of the units graded 2 or 3, the share in the top 5, over ``min(5, how many)`` so
  that a perfect ranking scores 1.
- MRR: ``1 / rank`` of the first grade-3 unit within the top 5, else 0.

Distractors (``--distractors N``, ``Databases``): N units generated as the latency corpus is
(``benchmarks/corpus.py``: skewed tags, confidences, statuses), loaded in bulk
(``benchmarks/load.py``) into the database before the labelled set, so that the labelled units
must be found among N others. Their text is drawn from the labelled units' own words, each as
often as in the set (``--distractor-words set``, the default), so that the queries' words fall
in every count band, from rare to flood; ``corpus`` keeps the benchmark corpus's few filler
words, which leaves every query word either a flood or absent. The labelled set alone never
meets hybrid ranking's bounds (``word_cap``, ``posting_budget``); among distractors it does, and
``reach`` counts how many queries do, printed after the metrics and kept under ``bounds``.

A query the server answers with an error (or not at all) scores 0 on every metric and is listed
under ``errors``. Results: a Markdown table on stdout, JSON in
``benchmarks/results/retrieval.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Connection
from tests.support.pgserver import PostgresServer

from benchmarks import load
from benchmarks.server import credentials, serve
from colloquy import semantic
from colloquy.config import Settings
from colloquy.store.factory import open_store
from colloquy.store.protocol import QuerySpec, Ranking
from colloquy.store.sql import DEFAULT_HYBRID, SqlStore
from colloquy.store.sql.ranking.hybrid import query_tag_words, word_groups
from colloquy.store.sql.ranking.text_candidates import searchable_terms
from colloquy.store.sql.ranking.word_counts import WordCounts

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results" / "retrieval.json"
K = 5
KINDS = ("mismatch", "flood", "error", "plain")
SERVER_MODES = ("cq", "hybrid-tags", "hybrid-q", "semantic-tags", "semantic-q")
OFFLINE_MODES = ("bm25-tags", "bm25-q")
MODES = SERVER_MODES + OFFLINE_MODES
BM25_K1 = 1.2
BM25_B = 0.75
NOT_AVAILABLE = "not available on this server"
BACKENDS = ("sqlite", "postgres")
DISTRACTOR_WORDS = ("set", "corpus")
PRISTINE = "distractors"  # the database the distractors are loaded into once


# --- the set ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    id: str
    kinds: tuple[str, ...]
    domains: tuple[str, ...]
    languages: tuple[str, ...]
    frameworks: tuple[str, ...]
    q: str
    relevant: dict[str, int]

    @property
    def tags(self) -> tuple[str, ...]:
        return self.domains + self.languages + self.frameworks


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_queries(path: Path) -> list[Query]:
    return [
        Query(
            id=row["id"],
            kinds=tuple(row["kind"]),
            domains=tuple(row["domains"]),
            languages=tuple(row.get("languages", [])),
            frameworks=tuple(row.get("frameworks", [])),
            q=row.get("q", ""),
            relevant={unit: int(grade) for unit, grade in row["relevant"].items()},
        )
        for row in read_jsonl(path)
    ]


# --- metrics ---------------------------------------------------------------------------------


def ndcg(ranked: Sequence[str], relevant: dict[str, int], k: int = K) -> float:
    dcg = sum(relevant.get(unit, 0) / math.log2(i + 2) for i, unit in enumerate(ranked[:k]))
    ideal_gains = sorted(relevant.values(), reverse=True)[:k]
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
    return dcg / ideal if ideal > 0 else 0.0


def recall(ranked: Sequence[str], relevant: dict[str, int], k: int = K) -> float:
    useful = {unit for unit, grade in relevant.items() if grade >= 2}
    if not useful:
        return 0.0
    return len(useful & set(ranked[:k])) / min(k, len(useful))


def reciprocal_rank(ranked: Sequence[str], relevant: dict[str, int], k: int = K) -> float:
    for i, unit in enumerate(ranked[:k]):
        if relevant.get(unit, 0) == 3:
            return 1.0 / (i + 1)
    return 0.0


@dataclass
class ModeResult:
    mode: str
    available: bool = True
    note: str = ""
    rankings: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def summarise(result: ModeResult, queries: Sequence[Query]) -> dict[str, Any]:
    """Mean metrics overall and per kind; errored queries count as zero."""
    per_query: dict[str, dict[str, float]] = {}
    for query in queries:
        ranked = [] if query.id in result.errors else result.rankings.get(query.id, [])
        per_query[query.id] = {
            "ndcg@5": ndcg(ranked, query.relevant),
            "recall@5": recall(ranked, query.relevant),
            "mrr": reciprocal_rank(ranked, query.relevant),
        }
    groups: dict[str, list[Query]] = {"all": list(queries)}
    for kind in KINDS:
        groups[kind] = [query for query in queries if kind in query.kinds]
    summary: dict[str, Any] = {}
    for name, members in groups.items():
        summary[name] = {"queries": len(members)} | {
            metric: round(sum(per_query[m.id][metric] for m in members) / len(members), 4)
            if members
            else 0.0
            for metric in ("ndcg@5", "recall@5", "mrr")
        }
    return {
        "mode": result.mode,
        "available": True,
        "seconds": round(result.seconds, 2),
        "errors": result.errors,
        "metrics": summary,
        "per_query": per_query,
        "rankings": result.rankings,
    }


def summarise_runs(runs: Sequence[ModeResult], queries: Sequence[Query]) -> dict[str, Any]:
    """One mode over several loads (server modes with ``--repeats``): metrics are the mean over
    the loads, and each load's overall figures are kept. Today's ranking breaks ties by the
    unit's id, which the server draws at random, so two loads of the same set can differ."""
    summaries = [summarise(run, queries) for run in runs]
    if len(summaries) == 1:
        return summaries[0]
    first = summaries[0]
    metrics = {
        group: {"queries": figures["queries"]}
        | {
            metric: round(sum(s["metrics"][group][metric] for s in summaries) / len(runs), 4)
            for metric in ("ndcg@5", "recall@5", "mrr")
        }
        for group, figures in first["metrics"].items()
    }
    errors: dict[str, str] = {}
    for summary in summaries:
        errors |= summary["errors"]
    return first | {
        "metrics": metrics,
        "errors": errors,
        "seconds": round(sum(s["seconds"] for s in summaries), 2),
        "repeats": [s["metrics"]["all"] for s in summaries],
    }


# --- BM25 (offline baseline) -----------------------------------------------------------------


def tokenise(text: str) -> list[str]:
    """The one tokeniser: lower-case, split on anything that is not a letter or a digit."""
    return [token for token in re.split(r"[^0-9a-z]+", text.lower()) if token]


class BM25:
    """Okapi BM25 (Lucene's non-negative idf) over summary + detail + action of each unit."""

    def __init__(
        self, units: Sequence[dict[str, Any]], k1: float = BM25_K1, b: float = BM25_B
    ) -> None:
        self.k1, self.b = k1, b
        self.ids = [unit["id"] for unit in units]
        self.docs = [Counter(tokenise(self.text(unit))) for unit in units]
        self.lengths = [sum(doc.values()) for doc in self.docs]
        self.avg_length = sum(self.lengths) / len(self.lengths)
        frequency: Counter[str] = Counter()
        for doc in self.docs:
            frequency.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}

    @staticmethod
    def text(unit: dict[str, Any]) -> str:
        insight = unit["insight"]
        return f"{insight['summary']} {insight['detail']} {insight['action']}"

    def scores(self, text: str) -> dict[str, float]:
        """Each unit matching a distinct word of ``text``, with its score (in set order)."""
        terms = set(tokenise(text))
        scores: dict[str, float] = {}
        for i, doc in enumerate(self.docs):
            norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg_length)
            score = 0.0
            for term in terms:
                tf = doc.get(term, 0)
                if tf:
                    score += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            if score > 0:
                scores[self.ids[i]] = score
        return scores

    def rank(self, text: str, k: int = K) -> list[str]:
        """The ``k`` best units for the distinct words of ``text`` (ties: set order)."""
        scores = self.scores(text)
        return sorted(scores, key=lambda unit: -scores[unit])[:k]


def tag_words(query: Query) -> str:
    return " ".join(query.tags)


def q_and_tag_words(query: Query) -> str:
    return " ".join((query.q, *query.tags))


def run_bm25(
    mode: str,
    units: Sequence[dict[str, Any]],
    queries: Sequence[Query],
    text: Callable[[Query], str],
) -> ModeResult:
    started = time.monotonic()
    index = BM25(units)
    result = ModeResult(mode)
    for query in queries:
        result.rankings[query.id] = index.rank(text(query))
    result.seconds = time.monotonic() - started
    return result


# --- the server ------------------------------------------------------------------------------


def server_has_ranking_setting() -> bool:
    """Issue 13 adds ``CQ_RANKING``; unknown ``CQ_*`` variables are ignored, so ask the code."""
    return "ranking" in Settings.model_fields


def accepts_q(http: httpx.Client, base_url: str, headers: dict[str, str]) -> bool:
    """``q`` without ``domains``: 422 where ``q`` is unknown (``domains`` is required)."""
    answer = http.get(
        f"{base_url}/api/v1/knowledge", params={"q": "probe", "limit": 1}, headers=headers
    )
    return answer.status_code == 200


def load_units(
    http: httpx.Client, base_url: str, api_key: str, token: str, units: Iterable[dict[str, Any]]
) -> dict[str, str]:
    """Propose and approve every unit; the server's id for each of the set's ids."""
    key_auth = {"Authorization": f"Bearer {api_key}"}
    reviewer = {"Authorization": f"Bearer {token}"}
    ids: dict[str, str] = {}
    for unit in units:
        body = {k: unit[k] for k in ("domains", "insight", "context")}
        proposed = http.post(f"{base_url}/api/v1/knowledge", json=body, headers=key_auth)
        if proposed.status_code != 201:
            raise RuntimeError(f"{unit['id']}: propose {proposed.status_code} {proposed.text}")
        server_id = proposed.json()["id"]
        approved = http.post(f"{base_url}/api/v1/review/{server_id}/approve", headers=reviewer)
        if approved.status_code != 200:
            raise RuntimeError(f"{unit['id']}: approve {approved.status_code} {approved.text}")
        ids[server_id] = unit["id"]
    return ids


class Databases:
    """Fresh databases for the server runs of one evaluation, each already holding the same
    ``distractors`` generated units (``benchmarks/corpus.py``) before the labelled set is
    proposed, so that the labelled units must be found among that many others. The
    distractors are loaded once (``benchmarks/load.py``) and copied for each run: a file copy
    on SQLite, a template database on PostgreSQL (``tests/support/pgserver.py``)."""

    def __init__(
        self,
        backend: str,
        distractors: int,
        work: Path,
        vocabulary: Sequence[str] | None = None,
    ) -> None:
        """``vocabulary``: the words of the distractors' text (``corpus.generate``)."""
        self.backend = backend
        self.distractors = distractors
        self._vocabulary = vocabulary
        self._work = work
        self._pg: PostgresServer | None = None
        self._pristine = ""
        self._runs = 0

    def __enter__(self) -> Databases:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pg is not None:
            self._pg.stop()

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """The URL of a new database at the schema's head, holding the distractors; dropped
        after use."""
        if not self._pristine:
            self._pristine = self._prepare()
        self._runs += 1
        name = f"run_{self._runs}"
        if self._pg is not None:
            yield self._pg.create_database(name, template=self._pristine)
            self._pg.drop_database(name)
            return
        copy = self._work / f"{name}.db"
        shutil.copyfile(self._pristine, copy)
        yield f"sqlite:///{copy}"
        for path in self._work.glob(f"{name}.db*"):
            path.unlink()

    def _prepare(self) -> str:
        """Load the distractors once; the name of what ``fresh`` copies."""
        started = time.monotonic()
        path = self._work / f"{PRISTINE}.db"
        if self.backend == "postgres":
            self._pg = PostgresServer(host_auth="trust").start()
            url = self._pg.create_database(PRISTINE)
        else:
            url = f"sqlite:///{path}"
        asyncio.run(load.load(url, self.distractors, progress=False, vocabulary=self._vocabulary))
        if self._pg is not None:
            # As autovacuum would leave it soon after.
            self._pg.execute_sql("VACUUM (ANALYZE)", database=PRISTINE)
        else:
            # Fold the write-ahead log into the file: a copy of the file alone is complete.
            with closing(sqlite3.connect(path)) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.monotonic() - started
        print(f"{self.distractors} distractors ({self.backend}) in {seconds:.1f}s", file=sys.stderr)
        return PRISTINE if self._pg is not None else str(path)


def reach(url: str, queries: Sequence[Query]) -> dict[str, dict[str, int]]:
    """How many queries meet hybrid ranking's bounds on this database, with their tags alone
    (``tags``) and with ``q`` (``q``): a word group held by ``word_cap`` units or more
    (``capped``), one left out because the kept ones spent ``posting_budget`` (``budget``),
    and the index entries the kept groups hold in all (``postings``, summed over queries).
    The bounds are what distractors are for: on the labelled set alone none is reached."""
    ranker = DEFAULT_HYBRID
    figures = {m: {"queries": len(queries), "capped": 0, "budget": 0, "postings": 0}
               for m in ("tags", "q")}  # fmt: skip

    def count(conn: Connection, store: SqlStore) -> None:
        aliases = store.current_aliases(conn)
        search = store.database.dialect.text_search
        counts = WordCounts(search, ranker.word_cap)
        for query in queries:
            for mode, q in (("tags", ""), ("q", query.q)):
                spec = QuerySpec(
                    domains=list(query.domains),
                    languages=list(query.languages),
                    frameworks=list(query.frameworks),
                    q=q,
                    ranking=Ranking.HYBRID,
                )
                groups = word_groups(spec, aliases, query_tag_words(spec, aliases))
                texts = dict.fromkeys(search.group_query(sorted(g)) for g in groups)
                held = sorted(n for n in counts.counts(conn, [t for t in texts if t]) if n)
                kept = searchable_terms(conn, search, counts, groups, ranker.posting_budget)
                left_out = held[len(kept.counts) :]  # kept: the rarest, while in budget
                figures[mode]["capped"] += any(n >= ranker.word_cap for n in left_out)
                figures[mode]["budget"] += any(n < ranker.word_cap for n in left_out)
                figures[mode]["postings"] += sum(kept.counts)

    async def read() -> None:
        store = open_store(url)
        try:
            await store.database.read(lambda conn: count(conn, store))
        finally:
            await store.close()

    asyncio.run(read())
    return figures


def run_server(
    modes: Sequence[str],
    settings: dict[str, str],
    units: Sequence[dict[str, Any]],
    queries: Sequence[Query],
    databases: Databases,
    reached: dict[str, Any] | None = None,
) -> list[ModeResult]:
    """One fresh server with ``settings`` on a fresh database (``databases``), the set
    loaded, then each of ``modes``'s queries; with ``reached``, the bounds the queries meet
    there (``reach``) too."""
    results = []
    with tempfile.TemporaryDirectory(prefix="colloquy-retrieval-") as tmp:
        data_dir = Path(tmp)
        with (
            databases.fresh() as url,
            serve(data_dir, url, settings=settings) as server,
            httpx.Client(timeout=30) as http,
        ):
            api_key, token = credentials(server)
            headers = {"Authorization": f"Bearer {api_key}"}
            started = time.monotonic()
            to_set = load_units(http, server.base_url, api_key, token, units)
            if settings.get("CQ_SEMANTIC") == "on":
                server.cli("embed")  # every unit's vector before the first query
            print(
                f"loaded {len(to_set)} units in {time.monotonic() - started:.1f}s ({settings})",
                file=sys.stderr,
            )
            if reached is not None and not reached:
                reached |= reach(url, queries)
            for mode in modes:
                if mode.endswith("-q") and not accepts_q(http, server.base_url, headers):
                    results.append(
                        ModeResult(mode, available=False, note=f"{NOT_AVAILABLE} (q is 422)")
                    )
                    continue
                result = ModeResult(mode)
                started = time.monotonic()
                for query in queries:
                    params: list[tuple[str, str | int]] = [("domains", d) for d in query.domains]
                    params += [("languages", lang) for lang in query.languages]
                    params += [("frameworks", fw) for fw in query.frameworks]
                    params.append(("limit", K))
                    if mode.endswith("-q"):
                        params.append(("q", query.q))
                    try:
                        answer = http.get(
                            f"{server.base_url}/api/v1/knowledge", params=params, headers=headers
                        )
                    except httpx.HTTPError as error:
                        result.errors[query.id] = f"transport: {error!r}"
                        continue
                    if answer.status_code != 200:
                        result.errors[query.id] = f"{answer.status_code} {answer.text[:200]}"
                        continue
                    result.rankings[query.id] = [
                        to_set.get(unit["id"], unit["id"]) for unit in answer.json()["data"]
                    ]
                result.seconds = time.monotonic() - started
                results.append(result)
    return results


# --- report ----------------------------------------------------------------------------------


def table(summaries: Sequence[dict[str, Any]]) -> str:
    groups = ("all", *KINDS)
    counts = next((s["metrics"] for s in summaries if s["available"]), None)
    header = ["mode", "metric"] + [f"{g} ({counts[g]['queries']})" if counts else g for g in groups]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for summary in summaries:
        if not summary["available"]:
            lines.append(f"| {summary['mode']} | {summary['note']} |" + " |" * len(groups))
            continue
        for metric in ("ndcg@5", "recall@5", "mrr"):
            cells = [f"{summary['metrics'][g][metric]:.3f}" for g in groups]
            lines.append(f"| {summary['mode']} | {metric} | " + " | ".join(cells) + " |")
    for summary in summaries:
        if len(summary.get("repeats", [])) > 1:
            figures = [run["ndcg@5"] for run in summary["repeats"]]
            lines.append(
                f"\n{summary['mode']}: mean of {len(figures)} loads; overall nDCG@5 per load "
                + ", ".join(f"{f:.3f}" for f in figures)
            )
    errored = [f"{s['mode']}: {len(s['errors'])}" for s in summaries if s.get("errors")]
    lines.append("")
    lines.append("query errors: " + (", ".join(errored) if errored else "none"))
    return "\n".join(lines)


def bounds_table(reached: dict[str, dict[str, int]]) -> str:
    """How many queries meet hybrid ranking's bounds (``reach``), with tags alone and with q."""
    lines = [
        "| words | queries | a group over word_cap | a group over posting_budget "
        "| postings matched per query |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mode, f in reached.items():
        mean = f["postings"] / f["queries"] if f["queries"] else 0.0
        lines.append(f"| {mode} | {f['queries']} | {f['capped']} | {f['budget']} | {mean:.0f} |")
    return "\n".join(lines)


def distractor_words(args: argparse.Namespace, units: Sequence[dict[str, Any]]) -> list[str] | None:
    """The distractors' words: with ``set``, every word of the labelled units' text as often as
    it occurs there, so that the queries' words are spread over every count from rare to
    flood among the distractors (their own words make them all floods or absent)."""
    if args.distractor_words == "corpus":
        return None
    return [word for unit in units for word in tokenise(BM25.text(unit))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default=",".join(MODES), help=f"comma list of {MODES}")
    parser.add_argument("--units", type=Path, default=HERE / "units.jsonl")
    parser.add_argument("--queries", type=Path, default=HERE / "queries.jsonl")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="fresh loads per server mode; figures are their mean (ties fall to random ids)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument(
        "--distractors",
        type=int,
        default=0,
        help="generated units (benchmarks/corpus.py) loaded before the labelled set",
    )
    parser.add_argument(
        "--distractor-words",
        choices=DISTRACTOR_WORDS,
        default="set",
        help="the distractors' text: the labelled units' words, as often as in the set, or "
        "the benchmark corpus's own few filler words",
    )
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown modes {unknown}; choose from {MODES}")

    units = read_jsonl(args.units)
    queries = load_queries(args.queries)
    ranking = server_has_ranking_setting()
    results: dict[str, list[ModeResult]] = {}

    def add(runs: Iterable[ModeResult]) -> None:
        for run in runs:
            results.setdefault(run.mode, []).append(run)

    hybrid = [m for m in modes if m in ("hybrid-tags", "hybrid-q")]
    if hybrid and not ranking:
        note = f"{NOT_AVAILABLE} (no CQ_RANKING setting)"
        add(ModeResult(mode, available=False, note=note) for mode in hybrid)
        hybrid = []
    meaning = [m for m in modes if m in ("semantic-tags", "semantic-q")]
    if meaning and not semantic.installed():
        note = f"{NOT_AVAILABLE} (install colloquy[semantic])"
        add(ModeResult(mode, available=False, note=note) for mode in meaning)
        meaning = []
    reached: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="colloquy-distractors-") as work,
        Databases(
            args.backend, args.distractors, Path(work), distractor_words(args, units)
        ) as databases,
    ):

        def run(server_modes: Sequence[str], settings: dict[str, str]) -> None:
            add(run_server(server_modes, settings, units, queries, databases, reached))

        for _ in range(args.repeats):
            if "cq" in modes:
                run(["cq"], {"CQ_RANKING": "cq"} if ranking else {})
            if hybrid:
                run(hybrid, {"CQ_RANKING": "hybrid", "CQ_SEMANTIC": "off"})
            if meaning:
                run(meaning, {"CQ_RANKING": "hybrid", "CQ_SEMANTIC": "on"})
    if "bm25-tags" in modes:
        add([run_bm25("bm25-tags", units, queries, tag_words)])
    if "bm25-q" in modes:
        add([run_bm25("bm25-q", units, queries, q_and_tag_words)])

    summaries = [
        summarise_runs(results[m], queries)
        if results[m][0].available
        else {"mode": m, "available": False, "note": results[m][0].note}
        for m in modes
    ]
    print(table(summaries))
    if reached:
        print("\n" + bounds_table(reached))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "units": len(units),
        "queries": len(queries),
        "k": K,
        "bm25": {"k1": BM25_K1, "b": BM25_B},
        "repeats": args.repeats,
        "backend": args.backend,
        "distractors": args.distractors,
        "distractor_words": args.distractor_words,
        "bounds": reached,
        "modes": summaries,
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
