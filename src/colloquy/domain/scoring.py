"""Ranking weights and confidence arithmetic, taken from the cq-schema package.

Confidence is kept as an integer number of basis points (1/10,000) so that repeated confirms and
flags never drift (the reference's float arithmetic turns 0.5 + 4 confirms - 2 flags into
0.5999999999999999 and misplaces the unit at a bucket edge).
"""

import cq_schema

SCALE = 10_000

DOMAIN_WEIGHT: float = cq_schema.DOMAIN_WEIGHT
LANGUAGE_WEIGHT: float = cq_schema.LANGUAGE_WEIGHT
FRAMEWORK_WEIGHT: float = cq_schema.FRAMEWORK_WEIGHT
PATTERN_WEIGHT: float = cq_schema.PATTERN_WEIGHT


def _percent(weight: float) -> int:
    """A ranking weight as a whole percentage, so that SQL can rank with integer arithmetic."""
    percent = round(weight * 100)
    if abs(percent - weight * 100) > 1e-9:
        raise ValueError(f"ranking weight {weight} is not a whole percentage")
    return percent


DOMAIN_PERCENT = _percent(DOMAIN_WEIGHT)
LANGUAGE_PERCENT = _percent(LANGUAGE_WEIGHT)
FRAMEWORK_PERCENT = _percent(FRAMEWORK_WEIGHT)
PATTERN_PERCENT = _percent(PATTERN_WEIGHT)


def to_points(value: float) -> int:
    """Convert a confidence (0..1) to basis points."""
    return round(value * SCALE)


def from_points(points: int) -> float:
    """Convert basis points back to the wire's 0..1 float."""
    return points / SCALE


INITIAL_POINTS = to_points(cq_schema.INITIAL_CONFIDENCE)
BOOST_POINTS = to_points(cq_schema.CONFIRMATION_BOOST)
PENALTY_POINTS = to_points(cq_schema.FLAG_PENALTY)
CEILING_POINTS = to_points(cq_schema.CONFIDENCE_CEILING)
FLOOR_POINTS = to_points(cq_schema.CONFIDENCE_FLOOR)

# Bucket lower edges (in points) of the two stats endpoints; the last bucket is closed at 1.0.
KNOWLEDGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("0.0-0.3", 0),
    ("0.3-0.5", to_points(0.3)),
    ("0.5-0.7", to_points(0.5)),
    ("0.7-1.0", to_points(0.7)),
)
REVIEW_BUCKETS: tuple[tuple[str, int], ...] = (
    ("0.0-0.3", 0),
    ("0.3-0.6", to_points(0.3)),
    ("0.6-0.8", to_points(0.6)),
    ("0.8-1.0", to_points(0.8)),
)


def relevance(
    unit_domains: set[str],
    query_domains: set[str],
    language_hit: bool,
    framework_hit: bool,
    pattern_hit: bool,
) -> float:
    """The cq relevance of one unit, for tests and tools (the server ranks in SQL)."""
    union = unit_domains | query_domains
    jaccard = len(unit_domains & query_domains) / len(union) if union else 0.0
    score = (
        DOMAIN_WEIGHT * jaccard
        + LANGUAGE_WEIGHT * language_hit
        + FRAMEWORK_WEIGHT * framework_hit
        + PATTERN_WEIGHT * pattern_hit
    )
    return min(max(score, 0.0), 1.0)
