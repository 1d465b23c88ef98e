"""Run the official MCP conformance suite against a fresh ``reelcart serve``.

Every server scenario that applies to a server without the suite's own fixture tools is run,
for each spec version the suite tags server scenarios with. The suite sends no credentials,
so it reaches ``/mcp`` through ``bearer_proxy`` (it plays an assistant holding a token).
Prints one line per scenario and a summary line per spec version; writes them to
``.reelcart/test-artifacts/summaries/mcp-conformance.txt``; exits non-zero when a check fails.

Run: ``make conformance`` (or ``python scripts/mcp_conformance.py``).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_tools import JS_DIR, NODE, ensure_node_modules, node_env

__all__ = ["APPLICABLE", "NOT_APPLICABLE", "run_conformance", "write_summary"]

ROOT = Path(__file__).resolve().parents[1]
# Summaries here are printed at the end of a pytest run (tests/conftest.py), so CI shows them.
ARTIFACT = ROOT / ".reelcart" / "test-artifacts" / "summaries" / "mcp-conformance.txt"
# Scenarios that test the server as it is (scenario -> what it checks).
APPLICABLE = {
    "server-initialize": "the 2025-11-25 initialize handshake",
    "ping": "ping",
    "tools-list": "tools/list structure",
    "resources-list": "resources/list structure (the MCP App page)",
    "prompts-list": "prompts/list structure (none offered)",
    "server-sse-multiple-streams": "several concurrent SSE streams in one session",
    "dns-rebinding-protection": "non-local Host/Origin refused, local accepted",
}
# Scenarios that do not apply, and why (the README lists the same).
NOT_APPLICABLE = {
    "tools-call-simple-text": "calls the suite's fixture tool test_simple_text",
    "tools-call-image": "fixture tool test_image_content",
    "tools-call-audio": "fixture tool test_audio_content",
    "tools-call-embedded-resource": "fixture tool test_embedded_resource",
    "tools-call-mixed-content": "fixture tool test_multiple_content_types",
    "tools-call-with-logging": "fixture tool test_tool_with_logging",
    "tools-call-error": "fixture tool test_error_handling",
    "tools-call-with-progress": "fixture tool test_tool_with_progress",
    "tools-call-sampling": "fixture tool test_sampling; no reelcart tool samples",
    "tools-call-elicitation": "fixture tool test_elicitation; no reelcart tool elicits",
    "json-schema-2020-12": "fixture tool json_schema_2020_12_tool",
    "elicitation-sep1034-defaults": "fixture tool test_elicitation_sep1034_defaults",
    "elicitation-sep1330-enums": "fixture tool test_elicitation_sep1330_enums",
    "server-sse-polling": "fixture tool test_reconnection",
    "resources-read-text": "fixture resource test://static-text",
    "resources-read-binary": "fixture resource test://static-binary",
    "resources-templates-read": "fixture template test://template/{id}/data",
    "resources-subscribe": "fixture resource; reelcart declares no subscribe capability",
    "resources-unsubscribe": "fixture resource; reelcart declares no subscribe capability",
    "prompts-get-simple": "fixture prompt test_simple_prompt",
    "prompts-get-with-args": "fixture prompt test_prompt_with_arguments",
    "prompts-get-embedded-resource": "fixture prompt test_prompt_with_embedded_resource",
    "prompts-get-with-image": "fixture prompt test_prompt_with_image",
    "completion-complete": "completes the fixture prompt's arguments",
    "logging-set-level": "reelcart declares no logging capability (deprecated in 2026-07-28)",
}


def _conformance(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cli = JS_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    return subprocess.run(
        [str(NODE), str(cli), *args],
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _scenarios(version: str) -> list[str]:
    listed = _conformance("list", "--server", "--spec-version", version).stdout
    return [
        line.strip()[2:].split(" ")[0] for line in listed.splitlines() if line.startswith("  - ")
    ]


def _versions() -> list[str]:
    """The spec versions the suite tags server scenarios with."""
    text = _conformance("list", "--server").stdout
    found = {
        v
        for line in text.splitlines()
        if "[" in line
        for v in line[line.index("[") + 1 : -1].split(",")
    }
    return sorted(found)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"reelcart serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError("reelcart serve did not become ready")


def _checks(output_dir: Path, scenario: str) -> list[dict[str, object]]:
    found = sorted(output_dir.glob(f"server-{scenario}-*/checks.json"))
    return json.loads(found[-1].read_text()) if found else []


def run_conformance(port: int | None = None, token: str | None = None) -> tuple[bool, list[str]]:
    """Run the applicable scenarios per spec version; returns (all passed, lines).

    Against the ``reelcart serve`` on ``port`` (with its ``token``), or a fresh one.
    """
    ensure_node_modules()
    if port is not None and token is not None:
        return _through_proxy(port, token)
    token = secrets.token_urlsafe(24)
    port = _free_port()
    reelcart = [sys.executable, "-m", "app.cli"]
    with tempfile.TemporaryDirectory(prefix="mcp-conformance-") as tmp:
        env = {**os.environ, "REELCART_DATA_DIR": tmp, "REELCART_API_TOKEN": token}
        for name in ("REELCART_DATABASE_URL", "REELCART_PUBLIC_BASE_URL", "REELCART_OAUTH_ISSUER"):
            env.pop(name, None)
        # No catalog needed: the scenarios that apply test the protocol, not the store.
        server = subprocess.Popen(
            [*reelcart, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ready(f"http://127.0.0.1:{port}/healthz", server)
            return _through_proxy(port, token)
        finally:
            server.terminate()
            server.wait(timeout=15)


def _through_proxy(port: int, token: str) -> tuple[bool, list[str]]:
    proxy = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("bearer_proxy.py")), str(port), token],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proxy.stdout is not None
        url = f"http://127.0.0.1:{proxy.stdout.readline().strip()}/mcp"
        with tempfile.TemporaryDirectory(prefix="mcp-conformance-results-") as results:
            return _run_all(url, Path(results))
    finally:
        proxy.terminate()
        proxy.wait(timeout=15)


def _run_all(url: str, output_dir: Path) -> tuple[bool, list[str]]:
    lines: list[str] = []
    ok = True
    for version in _versions():
        offered = _scenarios(version)
        unknown = [s for s in offered if s not in APPLICABLE and s not in NOT_APPLICABLE]
        run = [s for s in offered if s in APPLICABLE]
        passed = 0
        # One run of the version's whole suite (fast: one process); only applicable
        # scenarios are judged, the fixture ones fail by construction.
        _conformance(
            "server",
            "--url",
            url,
            "--spec-version",
            version,
            "--suite",
            "all",
            "-o",
            str(output_dir / version),
            timeout=300,
        )
        for scenario in run:
            checks = _checks(output_dir / version, scenario)
            failures = [c for c in checks if c.get("status") == "FAILURE"]
            good = bool(checks) and not failures
            passed += good
            ok &= good
            detail = "; ".join(str(c.get("errorMessage") or c.get("description")) for c in failures)
            mark = "PASS" if good else "FAIL"
            lines.append(
                f"MCP conformance {version} {mark} {scenario}" + (f": {detail}" if detail else "")
            )
        skipped = len(offered) - len(run)
        lines.append(
            f"MCP conformance {version}: {passed}/{len(run)} applicable server scenarios passed "
            f"({skipped} not applicable: need the suite's fixture tools)"
        )
        if unknown:  # a new suite release: decide whether they apply
            ok = False
            lines.append(f"MCP conformance {version}: unclassified scenarios {', '.join(unknown)}")
    return ok, lines


def write_summary(lines: list[str]) -> Path:
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text("\n".join(lines) + "\n")
    return ARTIFACT


def main() -> int:
    ok, lines = run_conformance()
    write_summary(lines)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
