"""The ranked query as SQL, reading only the units that can make a query's answer: the cq
ranking (exactly the reference's order) and hybrid ranking over it.

- ``unit_rows``: the ``unit_domains`` rows a unit is ranked from, written with the unit;
- ``bounds``: the pure math that bounds what a unit can score, range by range;
- ``statements``: the SQL of each shape of query, built once, and its parameters;
- ``planner``: the rounds of one query (``Planner``, whose fields are the knobs);
- ``domain_sizes``: the domain sizes that order the bounds (``DomainSizes``);
- ``hybrid``: hybrid ranking (``HybridRanker``): the cq score fused with tag words, aliases and
  full-text relevance, in one statement over bounded candidates;
- ``text_candidates``: its text half, reusable: word groups worth matching, and the units that
  best match them; ``word_counts``: bounded, briefly cached document counts of word groups.
"""

from colloquy.store.sql.ranking.domain_sizes import DomainSizes
from colloquy.store.sql.ranking.planner import Planner
from colloquy.store.sql.ranking.unit_rows import ranking_keys, ranking_payload, ranking_rows

__all__ = ["DomainSizes", "Planner", "ranking_keys", "ranking_payload", "ranking_rows"]
