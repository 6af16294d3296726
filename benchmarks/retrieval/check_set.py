"""Validate the labelled retrieval set in this directory and print its counts.

Standard library only, so it runs anywhere: ``python benchmarks/retrieval/check_set.py``.
Exit status 0 when the set is valid, 1 with one line per problem otherwise.

The wire limits mirror what colloquy enforces on a proposal and a query (the ``cq-schema``
constants that ``colloquy.domain.bounds`` and the models use): at most 16 domains of at most 64
characters, lower-case and stripped; summary 500, detail 8000, action 2000 characters; at most 16
languages and 16 frameworks of at most 64 characters; pattern 200; no NUL and no lone surrogates
anywhere; ``q`` at most 1,000 characters (issue 13). The set's own rules are stricter and are
checked too: 1-5 domains per unit, a summary of at most 140 characters.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# Wire limits (cq-schema, as enforced by colloquy).
DOMAINS_MAX_ITEMS = 16
DOMAIN_MAX_LENGTH = 64
SUMMARY_MAX_LENGTH = 500
DETAIL_MAX_LENGTH = 8000
ACTION_MAX_LENGTH = 2000
LANGUAGES_MAX_ITEMS = 16
LANGUAGE_MAX_LENGTH = 64
FRAMEWORKS_MAX_ITEMS = 16
FRAMEWORK_MAX_LENGTH = 64
PATTERN_MAX_LENGTH = 200
Q_MAX_LENGTH = 1000

# This set's own, stricter rules.
SET_MAX_DOMAINS = 5
SET_SUMMARY_MAX_LENGTH = 140
KINDS = ("mismatch", "flood", "error", "plain")
GRADES = (1, 2, 3)
# A query is a flood query when one of its tags sits on at least this many units.
FLOOD_MIN_UNITS = 20

UNIT_ID = re.compile(r"^ev-\d{4}$")
QUERY_ID = re.compile(r"^q-\d{3}$")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNIT_KEYS = {"id", "domains", "insight", "context"}
INSIGHT_KEYS = {"summary", "detail", "action"}
CONTEXT_KEYS = {"languages", "frameworks", "pattern"}
QUERY_KEYS = {"id", "kind", "domains", "languages", "frameworks", "q", "relevant"}


def read_jsonl(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    """Each line of ``path`` as a JSON object; a line that is not one is a problem."""
    rows: list[dict[str, Any]] = []
    if not path.exists():
        problems.append(f"{path.name}: missing")
        return rows
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            problems.append(f"{path.name}:{number}: blank line")
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}:{number}: not JSON ({exc})")
            continue
        if not isinstance(value, dict):
            problems.append(f"{path.name}:{number}: not a JSON object")
            continue
        rows.append(value)
    return rows


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield str(key)
            yield from strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from strings(child)


def check_tags(
    where: str, name: str, value: Any, max_items: int, max_length: int, problems: list[str]
) -> list[str]:
    """A list of tags: strings, lower-case and stripped, within the wire limits."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: {name} must be a list of strings")
        return []
    if len(value) > max_items:
        problems.append(f"{where}: {name} has {len(value)} items, more than {max_items}")
    for tag in value:
        if not tag or tag != tag.strip().lower():
            problems.append(f"{where}: {name} entry {tag!r} is not lower-case and stripped")
        if len(tag) > max_length:
            problems.append(f"{where}: {name} entry {tag!r} is longer than {max_length}")
    if len(set(value)) != len(value):
        problems.append(f"{where}: {name} repeats an entry")
    return list(value)


def check_text(where: str, value: Any, max_length: int, problems: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a non-empty string")
        return ""
    if len(value) > max_length:
        problems.append(f"{where}: {len(value)} characters, more than {max_length}")
    return value


def check_identity(
    where: str,
    record: dict[str, Any],
    pattern: re.Pattern[str],
    example: str,
    ids: set[str],
    problems: list[str],
) -> None:
    """A record's id is well formed and unique, and none of its text is unstorable."""
    record_id = record.get("id")
    if not isinstance(record_id, str) or not pattern.match(record_id):
        problems.append(f"{where}: id must look like {example}")
    elif record_id in ids:
        problems.append(f"{where}: duplicate id")
    else:
        ids.add(record_id)
    if any(UNSTORABLE.search(s) for s in strings(record)):
        problems.append(f"{where}: holds a NUL or a lone surrogate")


def check_units(units: list[dict[str, Any]], problems: list[str]) -> set[str]:
    ids: set[str] = set()
    for unit in units:
        uid = unit.get("id")
        where = f"unit {uid!r}"
        if set(unit) != UNIT_KEYS:
            problems.append(f"{where}: keys must be exactly {sorted(UNIT_KEYS)}")
        check_identity(where, unit, UNIT_ID, "ev-0001", ids, problems)
        domains = check_tags(
            where, "domains", unit.get("domains"), DOMAINS_MAX_ITEMS, DOMAIN_MAX_LENGTH, problems
        )
        if not 1 <= len(domains) <= SET_MAX_DOMAINS:
            problems.append(f"{where}: needs 1-{SET_MAX_DOMAINS} domains, has {len(domains)}")
        insight = unit.get("insight")
        if not isinstance(insight, dict) or set(insight) != INSIGHT_KEYS:
            problems.append(f"{where}: insight must have exactly {sorted(INSIGHT_KEYS)}")
        else:
            summary = check_text(
                f"{where} summary", insight["summary"], SUMMARY_MAX_LENGTH, problems
            )
            if len(summary) > SET_SUMMARY_MAX_LENGTH:
                problems.append(
                    f"{where}: summary has {len(summary)} characters, "
                    f"more than {SET_SUMMARY_MAX_LENGTH}"
                )
            check_text(f"{where} detail", insight["detail"], DETAIL_MAX_LENGTH, problems)
            check_text(f"{where} action", insight["action"], ACTION_MAX_LENGTH, problems)
        context = unit.get("context")
        if not isinstance(context, dict) or set(context) != CONTEXT_KEYS:
            problems.append(f"{where}: context must have exactly {sorted(CONTEXT_KEYS)}")
        else:
            check_tags(
                where,
                "languages",
                context["languages"],
                LANGUAGES_MAX_ITEMS,
                LANGUAGE_MAX_LENGTH,
                problems,
            )
            check_tags(
                where,
                "frameworks",
                context["frameworks"],
                FRAMEWORKS_MAX_ITEMS,
                FRAMEWORK_MAX_LENGTH,
                problems,
            )
            pattern = context["pattern"]
            if not isinstance(pattern, str) or len(pattern) > PATTERN_MAX_LENGTH:
                problems.append(f"{where}: pattern must be a string of at most 200 characters")
    return ids


def check_queries(
    queries: list[dict[str, Any]],
    unit_domains: dict[str, list[str]],
    problems: list[str],
) -> None:
    tag_units = Counter(tag for domains in unit_domains.values() for tag in domains)
    ids: set[str] = set()
    for query in queries:
        qid = query.get("id")
        where = f"query {qid!r}"
        if set(query) != QUERY_KEYS:
            problems.append(f"{where}: keys must be exactly {sorted(QUERY_KEYS)}")
            continue
        check_identity(where, query, QUERY_ID, "q-001", ids, problems)
        domains = check_tags(
            where, "domains", query["domains"], DOMAINS_MAX_ITEMS, DOMAIN_MAX_LENGTH, problems
        )
        if not domains:
            problems.append(f"{where}: needs at least one domain (cq clients always send one)")
        check_tags(
            where,
            "languages",
            query["languages"],
            LANGUAGES_MAX_ITEMS,
            LANGUAGE_MAX_LENGTH,
            problems,
        )
        check_tags(
            where,
            "frameworks",
            query["frameworks"],
            FRAMEWORKS_MAX_ITEMS,
            FRAMEWORK_MAX_LENGTH,
            problems,
        )
        check_text(f"{where} q", query["q"], Q_MAX_LENGTH, problems)
        kinds = query["kind"]
        if (
            not isinstance(kinds, list)
            or not kinds
            or any(kind not in KINDS for kind in kinds)
            or len(set(kinds)) != len(kinds)
        ):
            problems.append(f"{where}: kind must be a non-empty list drawn from {KINDS}")
            kinds = []
        relevant = query["relevant"]
        if not isinstance(relevant, dict) or not relevant:
            problems.append(f"{where}: relevant must be a non-empty object")
            continue
        for uid, grade in relevant.items():
            if uid not in unit_domains:
                problems.append(f"{where}: relevant unit {uid} does not exist")
            if isinstance(grade, bool) or grade not in GRADES:
                problems.append(f"{where}: grade of {uid} must be one of {GRADES}")
        answers = [uid for uid, grade in relevant.items() if grade == 3 and uid in unit_domains]
        if not answers:
            problems.append(f"{where}: no unit with grade 3")
        if "mismatch" in kinds and all(set(domains) <= set(unit_domains[uid]) for uid in answers):
            problems.append(
                f"{where}: marked mismatch, but every query tag is verbatim on a grade-3 unit"
            )
        if "flood" in kinds and max((tag_units[t] for t in domains), default=0) < FLOOD_MIN_UNITS:
            problems.append(
                f"{where}: marked flood, but no query tag is on {FLOOD_MIN_UNITS} or more units"
            )
        if "error" in kinds and not re.search(r"[\"']|\w+(Error|Exception|Warning)\b", query["q"]):
            problems.append(f"{where}: marked error, but q quotes no error message")


def check_duplicates(pairs: list[dict[str, Any]], unit_ids: set[str], problems: list[str]) -> None:
    seen: set[frozenset[str]] = set()
    for number, pair in enumerate(pairs, start=1):
        where = f"duplicates line {number}"
        a, b = pair.get("a"), pair.get("b")
        if not isinstance(a, str) or not isinstance(b, str) or a == b:
            problems.append(f"{where}: needs two different unit ids a and b")
            continue
        for uid in (a, b):
            if uid not in unit_ids:
                problems.append(f"{where}: unit {uid} does not exist")
        key = frozenset((a, b))
        if key in seen:
            problems.append(f"{where}: pair listed twice")
        seen.add(key)


def table(rows: Iterable[tuple[str, object]]) -> str:
    rows = list(rows)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def main() -> int:
    problems: list[str] = []
    units = read_jsonl(HERE / "units.jsonl", problems)
    queries = read_jsonl(HERE / "queries.jsonl", problems)
    pairs = read_jsonl(HERE / "duplicates.jsonl", problems)
    unit_ids = check_units(units, problems)
    unit_domains = {
        u["id"]: list(u["domains"])
        for u in units
        if isinstance(u.get("id"), str) and isinstance(u.get("domains"), list)
    }
    check_queries(queries, unit_domains, problems)
    check_duplicates(pairs, unit_ids, problems)

    tags = Counter(tag for domains in unit_domains.values() for tag in domains)
    kinds = Counter(kind for q in queries if isinstance(q.get("kind"), list) for kind in q["kind"])
    grades = Counter(
        grade
        for q in queries
        if isinstance(q.get("relevant"), dict)
        for grade in q["relevant"].values()
    )
    print(f"units: {len(units)}  queries: {len(queries)}  duplicate pairs: {len(pairs)}")
    print("queries per kind (a query may have several):")
    print(table((kind, kinds[kind]) for kind in KINDS))
    print("relevance judgements per grade:")
    print(table((f"grade {g}", grades[g]) for g in sorted(GRADES, reverse=True)))
    print(f"distinct unit tags: {len(tags)}; the most common:")
    print(table(tags.most_common(8)))
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("\nok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
