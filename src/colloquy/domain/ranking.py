"""How a knowledge query is ranked: the ``CQ_RANKING`` setting's values."""

from enum import StrEnum


class Ranking(StrEnum):
    """How a query is ranked (``CQ_RANKING``). ``cq``: the cq reference's order, exactly
    (Jaccard of the tags, context boosts, confidence). ``hybrid``: that, fused with tag words
    that survive wording (``domain.tags``) and full-text relevance of the units' text."""

    CQ = "cq"
    HYBRID = "hybrid"
