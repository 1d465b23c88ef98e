"""The UCP samples' platform client (``../shared/ucp/samples-client``, unchanged, a client
nobody here wrote) walks its whole happy path against a served store: discovery, create,
items, a discount, a destination, a fulfillment option and completion, in all three
published flavours (signed checkout, signed cart-first, unsigned with endpoint resolution).

The client is run from where it lies, as a program, with the ``ucp-sdk`` models it imports
(the 2026-04-08 release, a test dependency) through ``run_samples_client.py``, which
sets the protocol version the client's demo profile declares (a parameter of its
``signing.LocalProfileServer`` it leaves at an older release). The store is the flower
shop the official suite seeds. The rest of its configuration is the store's: it names its
test payment handler ``mock_payment_handler`` (the id the client hard-codes) through
``REELCART_UCP_PAYMENT_HANDLER_ID``, and reads the unsigned flavour's placeholder profile
(``https://agent.example/profile``) from a platform profile on loopback, through
``REELCART_UCP_PROFILE_OVERRIDES``. The client asks for the buyer's saved addresses by
e-mail, which a store grants only to platforms it trusts for identity linking: the
client's profiles (each signing flavour's demo profile, on a port named in advance — one per
flavour, as each publishes its own key — and the unsigned flavour's placeholder) are named
in ``REELCART_UCP_IDENTITY_PLATFORMS``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.asgi import create_app
from app.ucp.envelope import UCP_VERSION
from commerce.store.seed import seed_store_from_csv
from reelcart.settings import Settings
from tests.commerce.acp_helpers import acp_settings, localstripe
from tests.fakes.stripe_server import LocalStripe
from tests.servers import free_port, serve_on_loopback

from .ucp_helpers import Platform, platform_on_loopback

__all__ = ["localstripe"]

SHARED = Path(
    os.environ.get("REELCART_UCP_SUITE_DIR", Path(__file__).parents[4] / "shared" / "ucp")
)
SAMPLES = SHARED / "samples-client"
FLOWER_SHOP = SHARED / "conformance" / "test_data" / "flower_shop"
FLAVOURS = ["sig", "cart", "ep"]
PLACEHOLDER_PROFILE = "https://agent.example/profile"
RUNNER = Path(__file__).with_name("run_samples_client.py")
DONE = "Happy Path completed successfully."


@pytest.fixture(scope="module")
def flower_shop(
    tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[tuple[str, Platform, dict[str, int]]]:
    if not (SAMPLES / "sig" / "simple_happy_path_client.py").is_file():
        pytest.fail(f"the UCP samples client is not at {SAMPLES}")
    tmp = tmp_path_factory.mktemp("flower-shop")
    port = free_port()
    profile_ports = {flavour: free_port() for flavour in FLAVOURS}
    trusted = [f"http://127.0.0.1:{p}/profile.json" for p in profile_ports.values()]
    with platform_on_loopback() as platform:
        settings = acp_settings(
            Settings(data_dir=tmp / "data"),
            localstripe.url,
            public_base_url=f"http://127.0.0.1:{port}",
            fetch_allow_hosts="127.0.0.1,localhost",
            ucp_payment_handler_id="mock_payment_handler",
            ucp_profile_overrides={PLACEHOLDER_PROFILE: platform.profile},
            ucp_identity_platforms=",".join([*trusted, PLACEHOLDER_PROFILE]),
        )
        seed_store_from_csv(settings, FLOWER_SHOP, fetch_images=False)
        with serve_on_loopback(create_app(settings), port) as base:
            yield base, platform, profile_ports


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_samples_client_happy_path(
    flower_shop: tuple[str, Platform, dict[str, int]], flavour: str
) -> None:
    base, _, profile_ports = flower_shop
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        # The version its demo profile declares: the one this store implements.
        "UCP_SAMPLES_PROFILE_VERSION": UCP_VERSION,
        "UCP_SAMPLES_PROFILE_PORT": str(profile_ports[flavour]),
    }
    result = subprocess.run(
        [sys.executable, str(RUNNER), str(SAMPLES), flavour, "--server_url", base],
        env=env,
        cwd=SAMPLES,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert DONE in output, output
    assert "Payment Successful!" in output, output
