"""Run the official UCP conformance suite against a fresh ``reelcart serve``.

Starts the Stripe stand-in (localstripe on loopback), seeds a fresh SQLite data dir with
the suite's flower shop (``conformance/test_data/flower_shop``: products, stock, discount
codes, shipping rates, free-shipping promotions, customers with addresses), starts
``reelcart serve`` on a free port with a simulation secret (so the test-only shipping
simulation exists), runs ``../shared/ucp/run-conformance.sh`` (the suite unchanged, its
mock platform on free ports) and prints its summary line ``N passed, M failed, K
skipped``, also written to ``.reelcart/test-artifacts/summaries/ucp-conformance.txt``.
Exits non-zero when a test failed or the suite could not run.

Run: ``make conformance`` (or ``python scripts/ucp_conformance.py``).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commerce.store.seed import seed_store_from_csv  # noqa: E402
from reelcart.settings import Settings  # noqa: E402
from scripts.mcp_conformance import _free_port, _wait_ready  # noqa: E402
from tests.fakes.stripe_server import API_KEY, LocalStripe  # noqa: E402

__all__ = ["SUITE", "SUMMARY", "main", "run_conformance", "summary_line", "write_summary"]

SUITE = Path(os.environ.get("REELCART_UCP_SUITE_DIR", ROOT.parent / "shared" / "ucp"))
ARTIFACT = ROOT / ".reelcart" / "test-artifacts" / "summaries" / "ucp-conformance.txt"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def run_conformance(suite: Path = SUITE) -> tuple[int, list[str]]:
    """Seed, serve, run the suite; returns (runner exit status, its output lines)."""
    runner = suite / "run-conformance.sh"
    flower_shop = suite / "conformance" / "test_data" / "flower_shop"
    if not runner.is_file():
        return 2, [f"UCP conformance suite not found at {suite}"]
    secret = secrets.token_urlsafe(24)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    agent_port = _free_port()
    with tempfile.TemporaryDirectory(prefix="ucp-conformance-") as tmp:
        data_dir = Path(tmp) / "data"
        seed_store_from_csv(Settings(data_dir=data_dir), flower_shop, fetch_images=False)
        with LocalStripe(Path(tmp) / "stripe") as stripe:
            env = {k: v for k, v in os.environ.items() if not k.startswith("REELCART_")}
            env.update(
                {
                    "REELCART_DATA_DIR": str(data_dir),
                    "REELCART_API_TOKEN": secrets.token_urlsafe(24),
                    "REELCART_PUBLIC_BASE_URL": base,
                    "REELCART_STRIPE_API_KEY": API_KEY,
                    "REELCART_STRIPE_API_BASE": stripe.url,
                    "REELCART_UCP_SIMULATION_SECRET": secret,
                    # The suite's platform profile and webhook receiver are on localhost.
                    "REELCART_FETCH_ALLOW_HOSTS": "localhost,127.0.0.1,::1",
                    # The suite's platform stands for one that linked the buyer's identity
                    # (its known-customer tests expect stored addresses): configured here.
                    "REELCART_UCP_IDENTITY_PLATFORMS": (
                        f"http://localhost:{agent_port}/profiles/shopping-agent.json"
                    ),
                }
            )
            log_path = Path(tmp) / "serve.log"
            with log_path.open("wb") as log:
                server = subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    _wait_ready(f"{base}/healthz", server)
                    suite_env = {
                        **os.environ,
                        "MOCK_WEBHOOK_PORT": str(_free_port()),
                        "MOCK_AGENT_PORT": str(agent_port),
                    }
                    result = subprocess.run(
                        ["bash", str(runner), base, secret],
                        env=suite_env,
                        capture_output=True,
                        text=True,
                        timeout=1800,
                    )
                finally:
                    server.terminate()
                    try:
                        server.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        server.kill()
                        server.wait(timeout=15)
            lines = (result.stdout + result.stderr).splitlines()
            if result.returncode != 0:
                lines += ["--- reelcart serve log (tail) ---"]
                lines += log_path.read_text(errors="replace").splitlines()[-40:]
    return result.returncode, lines


def summary_line(lines: list[str]) -> str | None:
    """The runner's last ``N passed, M failed, K skipped`` line."""
    return next((line for line in reversed(lines) if SUMMARY.match(line.strip())), None)


def write_summary(summary: str | None) -> str:
    """The line CI shows (``tests/conftest.py`` prints the summaries folder at the end)."""
    line = f"UCP conformance: {summary or 'did not run'}"
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(line + "\n")
    return line


def main() -> int:
    status, lines = run_conformance()
    print("\n".join(lines))
    summary = summary_line(lines)
    print(write_summary(summary))
    return status if summary else (status or 1)


if __name__ == "__main__":
    sys.exit(main())
