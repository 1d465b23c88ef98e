"""The design's arrows, checked on the source: every import of every module, parsed with ast.

app (the doors) → flows → commerce → experiments / generation / connectors → reelcart (the
ground floor). Nothing below ``app`` imports a web or MCP framework; the ground floor
imports nothing of ours; ``generation`` touches no database, network or Prefect; commerce
imports neither flows nor doors; flows import no doors. Imports inside functions count too.

Inside commerce the concerns stand on each other: shopify → checkout → catalog, pricing;
store → catalog; catalog and pricing on nothing of commerce. Inside generation the
engines stand on the shot spec alone (a GPU worker loads one without the renderer), and
the overlays on the engines' frame type, the platforms and the spec. No two modules import
each other, directly or round a loop, but the two ORM model files (for type checking).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("reelcart", "connectors", "generation", "experiments", "commerce", "flows", "app")
WEB = frozenset({"starlette", "fastapi", "uvicorn", "mcp", "sse_starlette"})
# What each package may import of ours (itself included).
MAY_IMPORT = {
    "reelcart": {"reelcart"},
    "connectors": {"connectors", "reelcart"},
    "experiments": {"experiments", "reelcart"},
    "generation": {"generation", "reelcart"},
    "commerce": {"commerce", "experiments", "connectors", "reelcart"},
    "flows": {"flows", "commerce", "experiments", "generation", "connectors", "reelcart"},
    "app": set(OURS),
}
# Inside commerce and generation: what each sub-package (or module) may import of its
# siblings. Siblings not named here are not constrained.
SIBLINGS_MAY_IMPORT = {
    "commerce": {
        "pricing": set(),
        "catalog": set(),
        "store": {"catalog"},
        "checkout": {"catalog", "pricing"},
        "shopify": {"catalog", "checkout", "store"},
        "publishing": set(),
    },
    "generation": {
        "engines": {"spec"},
        "overlays": {"engines", "platforms", "spec"},
    },
}
# The only loop allowed: the ORM models name each other for type checking.
ALLOWED_CIRCLES = [{"reelcart.models.campaigns", "reelcart.models.catalog"}]
# generation runs on any GPU worker: no database, no network, no orchestration.
GENERATION_FORBIDDEN = (
    "reelcart.db",
    "reelcart.models",
    "reelcart.migrations",
    "sqlalchemy",
    "alembic",
    "prefect",
    "httpx",
    "requests",
    "aiohttp",
    "urllib.request",
    "http.client",
    "socket",
)


def _modules(root: Path) -> Iterator[tuple[str, Path]]:
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def imported(module: str, path: Path) -> Iterator[tuple[str, list[str]]]:
    """Each import of ``module`` as (the module it names, relative made absolute; the names
    it takes from it, empty for a plain ``import``)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base), names
            elif node.module:
                yield node.module, names


def imports_of(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports (relative imports made absolute)."""
    return {name for name, _ in imported(module, path)}


def _within(name: str, prefixes: tuple[str, ...] | frozenset[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(root: Path = ROOT) -> list[str]:
    """Every import that breaks an arrow, as ``module -> import (rule)``."""
    found = []
    for module, path in _modules(root):
        package = module.split(".")[0]
        for name in sorted(imports_of(module, path)):
            top = name.split(".")[0]
            if package != "app" and top in WEB:
                found.append(f"{module} -> {name} (only app/ imports web or MCP frameworks)")
            if top in OURS and top not in MAY_IMPORT[package]:
                found.append(f"{module} -> {name} ({package} may not import {top})")
            if package == "generation" and _within(name, GENERATION_FORBIDDEN):
                found.append(f"{module} -> {name} (generation: no database, network, Prefect)")
            found.extend(_sibling_violation(module, name))
    return found


def _sibling_violation(module: str, name: str) -> list[str]:
    rules = SIBLINGS_MAY_IMPORT.get(module.split(".")[0])
    parts, target = module.split("."), name.split(".")
    if rules is None or len(parts) < 2 or len(target) < 2 or target[0] != parts[0]:
        return []
    mine, theirs = parts[1], target[1]
    if mine == theirs or mine not in rules or theirs in rules[mine]:
        return []
    return [f"{module} -> {name} ({parts[0]}.{mine} may not import {parts[0]}.{theirs})"]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (``from pkg import mod`` counts as ``mod``)."""
    paths = dict(_modules(root))
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        deps = set()
        for base, names in imported(module, path):
            for name in [base, *(f"{base}.{n}" for n in names if f"{base}.{n}" in paths)]:
                parts = name.split(".")
                while parts and ".".join(parts) not in paths:
                    parts.pop()
                if parts and ".".join(parts) != module:
                    deps.add(".".join(parts))
        graph[module] = deps
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_broken_arrow(tmp_path: Path) -> None:
    """The checker itself: relative, nested and function-level imports are all found."""
    (tmp_path / "commerce" / "doors").mkdir(parents=True)
    (tmp_path / "commerce" / "doors" / "__init__.py").write_text("from ..checkout import x\n")
    (tmp_path / "commerce" / "bad.py").write_text(
        "def f():\n    from starlette.routing import Route\n    import app.asgi\n"
    )
    (tmp_path / "generation").mkdir()
    (tmp_path / "generation" / "g.py").write_text("from reelcart.models import Event\n")
    assert imports_of("commerce.doors", tmp_path / "commerce" / "doors" / "__init__.py") == {
        "commerce.checkout"
    }
    assert sorted(violations(tmp_path)) == [
        "commerce.bad -> app.asgi (commerce may not import app)",
        "commerce.bad -> starlette.routing (only app/ imports web or MCP frameworks)",
        "generation.g -> reelcart.models (generation: no database, network, Prefect)",
    ]


def test_the_checker_sees_a_sibling_arrow_and_a_circle(tmp_path: Path) -> None:
    """A catalog module importing checkout breaks the commerce arrows; two modules importing
    each other (one through ``from package import module``) are a circle."""
    (tmp_path / "commerce" / "catalog").mkdir(parents=True)
    (tmp_path / "commerce" / "checkout").mkdir(parents=True)
    (tmp_path / "commerce" / "catalog" / "store.py").write_text(
        "from commerce.checkout import service\n"
    )
    (tmp_path / "commerce" / "checkout" / "service.py").write_text(
        "from ..catalog.store import x\n"
    )
    assert violations(tmp_path) == [
        "commerce.catalog.store -> commerce.checkout (commerce.catalog may not import "
        "commerce.checkout)"
    ]
    assert circles(import_graph(tmp_path)) == [
        {"commerce.catalog.store", "commerce.checkout.service"}
    ]


def test_no_import_circle_but_the_orm_pair() -> None:
    found = circles(import_graph())
    assert [c for c in found if c not in ALLOWED_CIRCLES] == [], found


def test_the_design_arrows_hold() -> None:
    broken = violations()
    assert broken == [], "\n".join(broken)
