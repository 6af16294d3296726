"""The ranking package's parts on their own: statements take exactly the values made for them,
the planner keeps no state between calls, and domain sizes are re-read only when due."""

import itertools

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from colloquy.store.protocol import QuerySpec
from colloquy.store.sql.ranking import DomainSizes, Planner


def _spec(domains: int, languages: int, frameworks: int, pattern: bool) -> QuerySpec:
    return QuerySpec(
        domains=[f"d{i}" for i in range(domains)],
        languages=[f"l{j}" for j in range(languages)],
        frameworks=[f"f{j}" for j in range(frameworks)],
        pattern="p" if pattern else "",
    )


# Up to five feature lists: past four (bounds.MAX_FEATURE_LISTS) a query reads none.
SHAPES = list(itertools.product((1, 2, 3, 7), (0, 1, 3), (0, 1), (False, True)))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "pg"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("units", [True, False], ids=["units", "ids"])
def test_each_statement_takes_exactly_the_values_made_for_it(shape, dialect, units):
    for statement, values in Planner().statements(_spec(*shape), units):
        binds = statement.compile(dialect=dialect).binds.values()
        # The rest are the statement's own literals (the plain feature, the weights).
        assert {bind.key for bind in binds if bind.required} == set(values)


def test_the_planner_gives_the_same_statements_whatever_ran_before():
    planner = Planner()
    spec = _spec(3, 1, 1, True)
    first = planner.statements(spec)
    planner.statements(_spec(2, 0, 1, False))
    again = planner.statements(spec)
    assert [values for _, values in again] == [values for _, values in first]
    assert [statement for statement, _ in again] == [statement for statement, _ in first]
    assert len(first) == 2  # the first round's statement and a later round's
    assert first[1][0] is not first[0][0]


def test_one_domain_without_context_has_one_statement():
    assert len(Planner().statements(_spec(1, 0, 0, False))) == 1


def test_prepared_shapes_cover_the_knob():
    assert len(list(Planner(prepared_domains=2).prepared())) == 2 * 8
    assert len(list(Planner().prepared(units=False))) == 3 * 8


class _Connection:
    """Answers the domain-size read with fixed rows, and counts the reads."""

    def __init__(self, rows: list[tuple[str, int]]) -> None:
        self.rows = rows
        self.reads = 0

    def execute(self, _statement: object) -> list[tuple[str, int]]:
        self.reads += 1
        return self.rows


def test_domain_sizes_are_read_again_only_once_due():
    now = [100.0]
    sizes = DomainSizes(refresh_seconds=30.0, clock=lambda: now[0])
    conn = _Connection([("python", 7), ("api", 3)])
    assert sizes.read(conn) == {"python": 7, "api": 3}
    conn.rows = [("python", 8)]
    now[0] += 30.0
    assert sizes.read(conn) == {"python": 7, "api": 3}
    assert conn.reads == 1
    now[0] += 0.5
    assert sizes.read(conn) == {"python": 8}
    assert conn.reads == 2


def test_each_domain_size_cache_is_its_own():
    first, second = DomainSizes(), DomainSizes()
    first.read(_Connection([("python", 7)]))
    assert second.read(_Connection([])) == {}
