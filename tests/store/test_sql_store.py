"""The shape of the SQL store: the flat protocol answered by its repositories, and one way to
write."""

import ast
import inspect
from pathlib import Path

from colloquy.store.protocol import Store

STORE_SRC = Path(__file__).resolve().parents[2] / "src" / "colloquy" / "store"
PROTOCOL_METHODS = sorted(
    name for name, value in vars(Store).items() if not name.startswith("_") and callable(value)
)


def _parameters(method: object) -> list[tuple[str, object]]:
    return [
        (p.name, p.default)
        for p in inspect.signature(method).parameters.values()
        if p.name != "self"
    ]


async def test_every_protocol_method_is_bound_to_a_method_of_that_name(store) -> None:
    assert isinstance(store, Store)
    for name in PROTOCOL_METHODS:
        method = getattr(store, name)
        assert method.__name__ == name
        assert inspect.iscoroutinefunction(method), name
        assert _parameters(method) == _parameters(getattr(Store, name)), name


def _opens_a_transaction(path: Path) -> bool:
    tree = ast.parse(path.read_text(), str(path))
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"begin", "begin_nested"}
        for node in ast.walk(tree)
    )


def test_only_the_database_opens_write_transactions() -> None:
    """Every write goes through ``Database.write`` (group commit, retries, fault translation)."""
    backends = [STORE_SRC / "sqlite.py", STORE_SRC / "postgres.py"]
    openers = [
        path.relative_to(STORE_SRC).as_posix()
        for path in sorted((STORE_SRC / "sql").rglob("*.py")) + backends
        if _opens_a_transaction(path)
    ]
    assert openers == ["sql/database.py"]
