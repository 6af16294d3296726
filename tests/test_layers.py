"""The layering, enforced: each package imports only the layers below it, so that the shape in
the README's Architecture section cannot rot quietly. Read from the source with ``ast``, so a
late (function-level) import counts as much as one at the top."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "colloquy"

# module prefix -> prefixes of colloquy it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "colloquy.clock": ("colloquy.",),
    "colloquy.domain": (
        "colloquy.api",
        "colloquy.web",
        "colloquy.services",
        "colloquy.store",
        "colloquy.wiring",
        "colloquy.cli",
        "colloquy.config",
    ),
    "colloquy.security": ("colloquy.api", "colloquy.web", "colloquy.services", "colloquy.store"),
    "colloquy.config": ("colloquy.store", "colloquy.services", "colloquy.api", "colloquy.web"),
    "colloquy.store": ("colloquy.services", "colloquy.api", "colloquy.web", "colloquy.wiring"),
    # Services speak to the Store protocol only, never to an implementation.
    "colloquy.services": (
        "colloquy.api",
        "colloquy.web",
        "colloquy.wiring",
        "colloquy.store.sql",
        "colloquy.store.sqlite",
        "colloquy.store.postgres",
        "colloquy.store.factory",
    ),
    "colloquy.wiring": ("colloquy.api", "colloquy.web", "colloquy.store.sql"),
    # The ranking's bounds and a unit's ranking rows are plain arithmetic and text, no SQL.
    "colloquy.store.sql.ranking.bounds": ("sqlalchemy", "colloquy.store.tables"),
    "colloquy.store.sql.ranking.unit_rows": ("sqlalchemy", "colloquy.store.tables"),
    # The dashboard and the API are siblings; the dashboard still borrows the API's request
    # models (``colloquy.api.schemas``), and nothing else of it.
    "colloquy.web": (
        "colloquy.api.app",
        "colloquy.api.deps",
        "colloquy.api.accounts",
        "colloquy.api.knowledge",
        "colloquy.api.review",
        "colloquy.api.audit",
        "colloquy.store.sql",
    ),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _violations() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        for layer, forbidden in FORBIDDEN.items():
            if module != layer and not module.startswith(layer + "."):
                continue
            for name in sorted(_imports(path)):
                if any(name == f.rstrip(".") or name.startswith(f) for f in forbidden):
                    found.append(f"{module} imports {name}")
    return found


def test_every_layer_imports_only_what_is_below_it() -> None:
    assert _violations() == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from colloquy.store.sql import SqlStore\n", "colloquy.store.sql"),
        ("import colloquy.api.deps\n", "colloquy.api.deps"),
    ],
)
def test_the_check_sees_a_forbidden_import(tmp_path: Path, source: str, expected: str) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert expected in _imports(path)
