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
    # The contract and its errors stand alone; the shared SQL knows no backend but through its
    # ``Dialect`` value.
    "colloquy.store.protocol": ("colloquy.store.",),
    "colloquy.store.sql": (
        "colloquy.store.sqlite",
        "colloquy.store.postgres",
        "colloquy.store.factory",
        "colloquy.store.backup",
        "colloquy.store.migrate",
    ),
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
    # The dashboard and the API are siblings, put side by side by the app (``colloquy.app``):
    # neither imports the other (the inputs both accept are in ``services.inputs``), nor the
    # app that installs it.
    "colloquy.api": (
        "colloquy.web",
        "colloquy.mcp_endpoint",
        "colloquy.app",
        "colloquy.asgi",
        "colloquy.cli",
    ),
    # The API over MCP: built on the API's own pieces (its auth, limits and bodies), beside the
    # dashboard, and installed by the app like the other two.
    "colloquy.mcp_endpoint": ("colloquy.web", "colloquy.app", "colloquy.asgi", "colloquy.cli"),
    # The ranking's bounds and a unit's ranking rows are plain arithmetic and text, no SQL.
    "colloquy.store.sql.ranking.bounds": ("sqlalchemy", "colloquy.store.tables"),
    "colloquy.store.sql.ranking.unit_rows": ("sqlalchemy", "colloquy.store.tables"),
    "colloquy.web": (
        "colloquy.api",
        "colloquy.mcp_endpoint",
        "colloquy.app",
        "colloquy.asgi",
        "colloquy.cli",
        "colloquy.store.sql",
    ),
    # The model and the vector arithmetic know nothing of storage or HTTP: services feed them.
    "colloquy.semantic": (
        "colloquy.api",
        "colloquy.web",
        "colloquy.services",
        "colloquy.store",
        "colloquy.wiring",
        "colloquy.cli",
        "colloquy.config",
    ),
    # Rendering reads nothing: what a page shows is fetched before ``render`` is called.
    "colloquy.web.templating": ("colloquy.wiring", "colloquy.services", "colloquy.store"),
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


# Settings reach every process explicitly (``colloquy.asgi.AppFactory``): nothing in colloquy
# writes the environment, which a worker process would inherit.
ENVIRON_WRITERS = {"update", "setdefault", "pop", "popitem", "clear", "putenv", "unsetenv"}


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _environment_writes(path: Path) -> list[int]:
    """Lines that assign, delete or mutate ``os.environ``, or call ``os.putenv``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            if any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner, name = node.func.value, node.func.attr
            if name in ENVIRON_WRITERS and (
                _is_environ(owner) or (isinstance(owner, ast.Name) and owner.id == "os")
            ):
                lines.append(node.lineno)
    return lines


def test_nothing_writes_the_environment() -> None:
    found = {
        _module_name(path): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := _environment_writes(path))
    }
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        'os.environ["CQ_PORT"] = "1"\n',
        'environ["CQ_PORT"] += "1"\n',
        'del os.environ["CQ_PORT"]\n',
        'os.environ.update(CQ_PORT="1")\n',
        'os.putenv("CQ_PORT", "1")\n',
    ],
)
def test_the_check_sees_an_environment_write(tmp_path: Path, source: str) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert _environment_writes(path) == [1]
