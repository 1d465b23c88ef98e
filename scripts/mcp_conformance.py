"""Run the official MCP conformance suites against a fresh ``reelcart serve``.

Two releases of ``@modelcontextprotocol/conformance`` run (``tests/js/package.json``): the
newest release (npm ``latest``), per spec version it tags server scenarios with, and the
newest pre-release, per frozen requirement set (``--requirements``; it brings the
2026-07-28 set). Every server scenario a run reports is judged: applicable ones must pass
(every check), the rest are listed as not applicable with the reason (they call the
suite's own fixture tools, resources or prompts, or an extension reelcart does not offer).
A scenario a new release adds fails the run until it is classified here. The suite sends no
credentials, so it reaches ``/mcp`` through ``bearer_proxy`` (an assistant holding a token).
Prints one line per scenario and a summary line per run; writes them to
``.reelcart/test-artifacts/summaries/mcp-conformance.txt``; exits non-zero on a failure.

Run: ``make conformance`` (or ``python scripts/mcp_conformance.py``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_tools import JS_DIR, NODE, ensure_node_modules, node_env

__all__ = [
    "APPLICABLE",
    "NOT_APPLICABLE",
    "NOT_APPLICABLE_CHECKS",
    "SUITES",
    "run_conformance",
    "write_summary",
]

ROOT = Path(__file__).resolve().parents[1]
# Summaries here are printed at the end of a pytest run (tests/conftest.py), so CI shows them.
ARTIFACT = ROOT / ".reelcart" / "test-artifacts" / "summaries" / "mcp-conformance.txt"


@dataclass(frozen=True)
class Suite:
    """One installed release of the suite and how its server scenarios are selected."""

    package: str  # the folder under tests/js/node_modules/@modelcontextprotocol
    by_requirements: bool  # frozen requirement sets (--requirements) vs --spec-version

    @property
    def folder(self) -> Path:
        return JS_DIR / "node_modules" / "@modelcontextprotocol" / self.package

    @property
    def version(self) -> str:
        return str(json.loads((self.folder / "package.json").read_text())["version"])


SUITES = (
    Suite("conformance", by_requirements=False),  # newest release
    Suite("conformance-next", by_requirements=True),  # newest pre-release
)
# The requirement sets of the pre-release; one it adds fails the run until listed here.
REQUIREMENT_SETS = ("2025-11-25", "2026-07-28")

# Scenarios that test the server as it is (scenario -> what it checks).
APPLICABLE = {
    "server-initialize": "the 2025-11-25 initialize handshake",
    "server-session-lifecycle": "sessions: ids, reuse, DELETE ends one",
    "server-stateless": "2026-07-28: _meta validation, server/discover, 400/404 answers, "
    "subscriptions/listen",
    "ping": "ping",
    "tools-list": "tools/list structure",
    "resources-list": "resources/list structure (the MCP App page)",
    "prompts-list": "prompts/list structure (none offered)",
    "server-sse-multiple-streams": "several concurrent SSE streams in one session",
    "dns-rebinding-protection": "non-local Host/Origin refused, local accepted",
    "sep-2164-resource-not-found": "an unknown resource is -32602 with its uri",
    "caching": "ttlMs and cacheScope on list and read results",
    "http-header-validation": "Mcp-Method / Mcp-Name headers checked against the body (-32020)",
}
# Checks of applicable scenarios that need the suite's diagnostic fixture tools.
NOT_APPLICABLE_CHECKS = {
    "sep-2575-server-rejects-undeclared-capability": "fixture tool test_missing_capability",
    "sep-2575-missing-capability-http-400": "fixture tool test_missing_capability",
    "sep-2575-http-server-no-independent-requests-on-stream": (
        "fixture tool test_streaming_elicitation"
    ),
    "sep-2575-server-no-log-without-loglevel": "fixture tool test_logging_tool",
}
_INPUT_REQUIRED = "fixture tools test_input_required_result_*; no reelcart tool asks for input"
_TASKS = "the tasks extension (io.modelcontextprotocol/tasks), which reelcart does not offer"
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
    "completion-complete": "completes the fixture prompt's arguments; no completions capability",
    "logging-set-level": "reelcart declares no logging capability (deprecated in 2026-07-28)",
    "http-custom-header-server-validation": "needs a tool with x-mcp-header parameters; "
    "no reelcart tool maps a parameter to a header",
    **{
        f"input-required-result-{name}": _INPUT_REQUIRED
        for name in (
            "basic-elicitation",
            "basic-sampling",
            "basic-list-roots",
            "request-state",
            "multiple-input-requests",
            "multi-round",
            "missing-input-response",
            "non-tool-request",
            "result-type",
            "unsupported-methods",
            "tampered-state",
            "capability-check",
            "ignore-extra-params",
            "validate-input",
        )
    },
    **{
        f"tasks-{name}": _TASKS
        for name in (
            "lifecycle",
            "capability-negotiation",
            "wire-fields",
            "request-state-removal",
            "mrtr-input",
            "request-headers",
            "dispatch-and-envelope",
            "status-notifications",
            "required-task-error",
            "mrtr-composition",
        )
    },
}
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")


def _conformance(
    suite: Suite, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODE), str(suite.folder / "dist" / "index.js"), *args],
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _targets(suite: Suite) -> list[str]:
    """The spec versions (release) or requirement sets (pre-release) to run."""
    if suite.by_requirements:
        return list(REQUIREMENT_SETS)
    text = _conformance(suite, "list", "--server").stdout
    found = {
        v
        for line in text.splitlines()
        if "[" in line
        for v in line[line.index("[") + 1 : -1].split(",")
    }
    return sorted(found)


def _new_requirement_sets(suite: Suite) -> list[str]:
    help_text = _conformance(suite, "list", "--help").stdout
    named = re.findall(r"\d{4}-\d{2}-\d{2}", help_text)
    return sorted(set(named) - set(REQUIREMENT_SETS))


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


def _results(output_dir: Path) -> dict[str, list[dict[str, object]]]:
    """Each scenario the run reported, with its checks."""
    found: dict[str, list[dict[str, object]]] = {}
    for checks in sorted(output_dir.glob("server-*/checks.json")):
        match = _RESULT_DIR.match(checks.parent.name)
        if match:
            found[match["scenario"]] = json.loads(checks.read_text())
    return found


def _judge(label: str, results: dict[str, list[dict[str, object]]]) -> tuple[bool, list[str]]:
    ok, lines, passed, applicable = True, [], 0, 0
    for scenario, checks in sorted(results.items()):
        if scenario in NOT_APPLICABLE:
            lines.append(f"{label} N/A {scenario}: {NOT_APPLICABLE[scenario]}")
            continue
        if scenario not in APPLICABLE:  # a new suite release: decide whether it applies
            ok = False
            lines.append(f"{label} FAIL {scenario}: unclassified scenario")
            continue
        applicable += 1
        failures = [
            c
            for c in checks
            if c.get("status") == "FAILURE" and c.get("id") not in NOT_APPLICABLE_CHECKS
        ]
        skipped = sorted({str(c["id"]) for c in checks if c.get("id") in NOT_APPLICABLE_CHECKS})
        good = bool(checks) and not failures
        passed += good
        ok &= good
        detail = "; ".join(str(c.get("errorMessage") or c.get("description")) for c in failures)
        note = f" ({len(skipped)} checks need fixture tools)" if skipped else ""
        lines.append(
            f"{label} {'PASS' if good else 'FAIL'} {scenario}{note}"
            + (f": {detail}" if detail else "")
        )
    lines.append(
        f"{label}: {passed}/{applicable} applicable server scenarios passed "
        f"({len(results) - applicable} not applicable)"
    )
    return ok, lines


def _run_all(url: str, output_dir: Path) -> tuple[bool, list[str]]:
    lines: list[str] = []
    ok = True
    for suite in SUITES:
        for target in _targets(suite):
            label = f"MCP conformance {suite.version} {target}"
            how = (
                ["--requirements", target]
                if suite.by_requirements
                else ["--spec-version", target, "--suite", "all"]
            )
            folder = output_dir / suite.package / target
            # One run of the whole set (fast: one process); only applicable scenarios
            # are judged, the fixture ones fail by construction.
            _conformance(suite, "server", "--url", url, *how, "-o", str(folder), timeout=300)
            good, judged = _judge(label, _results(folder))
            ok &= good
            lines += judged
        if suite.by_requirements and (new := _new_requirement_sets(suite)):
            ok = False
            lines.append(f"MCP conformance {suite.version}: unlisted requirement sets {new}")
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
