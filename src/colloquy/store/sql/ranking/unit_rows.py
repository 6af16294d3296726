"""A unit's ``unit_domains`` rows, and the tag text that the ranked statements search.

Every row carries what the score needs of its unit (domain count, and its domains, languages,
frameworks and pattern as searchable text), so a statement scores the rows it reads without
touching any other table. Written by every insert of a unit (store/sql/base.py) and by its
repair (store/sql/quarantine.py); read by the statements (``statements``).
"""

import json
from collections.abc import Iterable, Sequence
from typing import Any


def tag_set(values: Iterable[str]) -> str:
    """A list of tags as text in which ``tag_needle(v)`` occurs exactly when ``v`` is listed.

    Each value is JSON-encoded between commas: inside a JSON string every quote is escaped, so
    a comma followed by a bare quote only ever starts an element.
    """
    return "," + "".join(json.dumps(value, ensure_ascii=False) + "," for value in values)


def tag_needle(value: str) -> str:
    return "," + json.dumps(value, ensure_ascii=False) + ","


def feature_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def unit_features(
    languages: Sequence[str], frameworks: Sequence[str], pattern_key: str
) -> list[str]:
    """The features a unit has its own ``unit_domains`` rows for, besides the plain one ('')."""
    keys = [feature_key("language", v) for v in dict.fromkeys(languages)]
    keys += [feature_key("framework", v) for v in dict.fromkeys(frameworks)]
    return keys + ([feature_key("pattern", pattern_key)] if pattern_key else [])


def ranking_payload(
    domains: Sequence[str], languages: Sequence[str], frameworks: Sequence[str], pattern_key: str
) -> dict[str, Any]:
    """What each of a unit's ``unit_domains`` rows carries of it: what scoring needs."""
    return {
        "domain_count": len(domains),
        "domain_set": tag_set(domains),
        "language_set": tag_set(dict.fromkeys(languages)),
        "framework_set": tag_set(dict.fromkeys(frameworks)),
        "pattern_key": pattern_key,
    }


def ranking_keys(
    domains: Sequence[str], languages: Sequence[str], frameworks: Sequence[str], pattern_key: str
) -> list[tuple[str, str]]:
    """The (domain, feature) of each of a unit's ``unit_domains`` rows, in the order they are
    written: one per domain and feature."""
    features = ["", *unit_features(languages, frameworks, pattern_key)]
    return [(d, f) for d in domains for f in features]


def ranking_rows(
    domains: Sequence[str], languages: Sequence[str], frameworks: Sequence[str], pattern_key: str
) -> list[dict[str, Any]]:
    """A unit's ``unit_domains`` rows, but for its id and ranking columns: one per domain and
    feature, each carrying what scoring needs of the unit."""
    payload = ranking_payload(domains, languages, frameworks, pattern_key)
    return [
        {"domain": d, "feature": f, **payload}
        for d, f in ranking_keys(domains, languages, frameworks, pattern_key)
    ]
