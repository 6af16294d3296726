"""The cq ranking as SQL, reading only the units that can make a query's answer.

- ``unit_rows``: the ``unit_domains`` rows a unit is ranked from, written with the unit;
- ``bounds``: the pure math that bounds what a unit can score, range by range;
- ``statements``: the SQL of each shape of query, built once, and its parameters;
- ``planner``: the rounds of one query (``Planner``, whose fields are the knobs);
- ``domain_sizes``: the domain sizes that order the bounds (``DomainSizes``).
"""

from colloquy.store.sql.ranking.domain_sizes import DomainSizes
from colloquy.store.sql.ranking.planner import Planner
from colloquy.store.sql.ranking.unit_rows import ranking_rows

__all__ = ["DomainSizes", "Planner", "ranking_rows"]
