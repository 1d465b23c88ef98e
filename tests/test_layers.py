"""The design's arrows, checked on the source: every import of every module, parsed with ast.

app (the doors) → flows → commerce → experiments / generation / connectors → reelcart (the
ground floor). Nothing below ``app`` imports a web or MCP framework; the ground floor
imports nothing of ours; ``generation`` touches no database, network or Prefect; commerce
imports neither flows nor doors; flows import no doors. Imports inside functions count too.
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


def imports_of(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports (relative imports made absolute)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


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
        "commerce.checkout.service"
    }
    assert sorted(violations(tmp_path)) == [
        "commerce.bad -> app.asgi (commerce may not import app)",
        "commerce.bad -> starlette.routing (only app/ imports web or MCP frameworks)",
        "generation.g -> reelcart.models (generation: no database, network, Prefect)",
    ]


def test_the_design_arrows_hold() -> None:
    broken = violations()
    assert broken == [], "\n".join(broken)
