"""The short text beside each tool's structured result: what a model reads first, so it says
what the result means for the agent's next step, not only what it holds."""

from collections.abc import Sequence
from typing import Any

NO_MATCH = (
    "No approved knowledge unit matches. If you solve this problem, propose what you learned "
    "so the next agent does not have to rediscover it."
)


def unit_text(unit: dict[str, Any]) -> str:
    """One unit as a few labelled lines: its id to confirm or flag it with, how far it is
    trusted, where it applies, and the advice."""
    evidence = unit["evidence"]
    confirmations = evidence["confirmations"]
    trust = [
        f"confidence {evidence['confidence']:.2f}",
        f"{confirmations} confirmation{'' if confirmations == 1 else 's'}",
    ]
    flags = [flag["reason"] for flag in unit.get("flags", [])]
    if flags:
        trust.append("flagged " + ", ".join(flags))
    where = ["domains: " + ", ".join(unit["domains"])]
    context = unit["context"]
    for field in ("languages", "frameworks"):
        if context[field]:
            where.append(f"{field}: " + ", ".join(context[field]))
    if context["pattern"]:
        where.append(f"pattern: {context['pattern']}")
    insight = unit["insight"]
    return "\n".join(
        [
            f"{unit['id']} ({', '.join(trust)})",
            "; ".join(where),
            f"Summary: {insight['summary']}",
            f"Detail: {insight['detail']}",
            f"Action: {insight['action']}",
        ]
    )


def query_text(units: Sequence[dict[str, Any]]) -> str:
    if not units:
        return NO_MATCH
    count = len(units)
    head = f"{count} knowledge unit{'' if count == 1 else 's'}, best first:"
    return "\n\n".join([head, *(unit_text(unit) for unit in units)])


def proposed_text(unit: dict[str, Any]) -> str:
    return (
        f"Proposed {unit['id']}. It waits for a human review; once approved, every agent's "
        f"query can find it.\n\n{unit_text(unit)}"
    )


def confirmed_text(unit: dict[str, Any]) -> str:
    return f"Confirmed {unit['id']}: it now ranks with this evidence.\n\n{unit_text(unit)}"


def flagged_text(unit: dict[str, Any], reason: str) -> str:
    return f"Flagged {unit['id']} as {reason}; reviewers will see it.\n\n{unit_text(unit)}"


def status_text(stats: dict[str, Any]) -> str:
    """The counts, with the most common domains first (all of them are in the structured
    result)."""
    total = stats["total_count"]
    lines = [f"{total} knowledge unit{'' if total == 1 else 's'} in the commons."]
    domains = sorted(stats["domain_counts"].items(), key=lambda item: (-item[1], item[0]))
    if domains:
        shown = ", ".join(f"{name} {count}" for name, count in domains[:20])
        more = len(domains) - 20
        lines.append(f"Domains: {shown}" + (f" and {more} more" if more > 0 else ""))
    buckets = ", ".join(f"{label}: {n}" for label, n in stats["confidence_distribution"].items())
    lines.append(f"Confidence: {buckets}")
    return "\n".join(lines)
