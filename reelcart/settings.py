"""The one settings object: every knob, read from ``REELCART_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEMO_CATALOG",
    "Settings",
    "ShippingRate",
    "default_data_dir",
    "get_settings",
]

DEMO_CATALOG = Path(__file__).parent / "demo_store" / "products.json"


class ShippingRate(BaseModel):
    """A shipping option offered at checkout (ACP ``FulfillmentOptionShipping``)."""

    id: str
    title: str
    amount_minor: int = Field(ge=0)
    min_days: int = Field(default=3, ge=0)
    max_days: int = Field(default=7, ge=0)
    carrier: str | None = None


def default_data_dir(cwd: Path | None = None, home: Path | None = None) -> Path:
    """``.reelcart`` inside a reelcart checkout (or where one already is), else the user's
    data directory (``$XDG_DATA_HOME/reelcart``, ``~/.local/share/reelcart``).

    A command run from some other folder must not leave a database there unasked.
    """
    here = cwd or Path.cwd()
    project = here / "pyproject.toml"
    if (here / ".reelcart").is_dir() or (
        project.is_file() and 'name = "reelcart"' in project.read_text(errors="replace")
    ):
        return Path(".reelcart")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else (home or Path.home()) / ".local" / "share"
    return base / "reelcart"


class Settings(BaseSettings):
    """reelcart's configuration.

    Secrets are ``SecretStr`` so they never appear in ``repr``, logs or artifacts;
    read them with ``.get_secret_value()`` at the one place that sends them.
    """

    model_config = SettingsConfigDict(env_prefix="REELCART_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: default_data_dir(),
        description="Where local state lives (see default_data_dir).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is a SQLite file in the data dir. "
        "For PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token required by the MCP and ACP HTTP endpoints."
    )
    oauth_issuer: str | None = Field(
        default=None,
        description="OAuth 2.1 authorization server (issuer URL) whose JWT access tokens "
        "/mcp accepts; its JWKS is found from its metadata unless oauth_jwks_url is set.",
    )
    oauth_jwks_url: str | None = Field(default=None, description="JWKS URL of oauth_issuer.")

    db_pool_size: int = Field(
        default=5, ge=1, description="Database connections each process keeps open."
    )
    db_max_overflow: int = Field(
        default=10, ge=0, description="Extra connections a process may open under load."
    )
    write_threads: int = Field(
        default=0,
        ge=0,
        description="At most this many checkout writes run at once per server process "
        "(0: no own limit). A few (cores + 2) keep agents' reads fast under a crowd of "
        "checkouts; a slow payment provider then caps a process at write_threads divided "
        "by its latency checkouts per second.",
    )
    read_cache: bool = Field(
        default=True,
        description="Keep the catalog part of product views in memory per process (stock, "
        "status and checkout prices are always read from the database).",
    )

    host: str = Field(default="127.0.0.1", description="Interface `reelcart serve` binds.")
    port: int = Field(default=8787, ge=1, le=65535)
    public_base_url: str | None = Field(
        default=None,
        description="Base URL that agents use to reach media; default http://host:port.",
    )
    media_url: str | None = Field(
        default=None,
        description="fsspec URL of the media store (a folder, s3://bucket/prefix, …); "
        "default is the data dir's media/ folder.",
    )

    engine: Literal["motion", "diffusion"] = Field(
        default="motion", description="Footage engine: `motion` on the CPU, `diffusion` on a GPU."
    )
    # --- diffusion engine (generation/engines/diffusion/: presets.py, engine.py) ---
    diffusion_preset: str = Field(
        default="ltx-video-i2v",
        description=(
            "Model preset of the diffusion engine"
            " (see generation/engines/diffusion/presets.py PRESETS)."
        ),
    )
    model_dir: Path | None = Field(
        default=None,
        description="Local diffusers folder to load instead of the preset's Hugging Face id.",
    )
    diffusion_device: str | None = Field(
        default=None, description="Torch device, e.g. `cuda:1`; default: CUDA, else MPS, else CPU."
    )
    diffusion_compile: bool = Field(
        default=False, description="torch.compile the transformer's repeated blocks (CUDA only)."
    )
    attention_backend: str | None = Field(
        default=None,
        description="diffusers attention backend, e.g. `flash`, `_flash_3`, `sage` (opt-in).",
    )
    first_block_cache: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="FirstBlockCache threshold (e.g. 0.05); off by default.",
    )
    gpu_concurrency: bool = Field(
        default=True,
        description="Hold the Prefect global concurrency limit `gpu-<index>` while generating "
        "(create it once: `prefect gcl create gpu-0 --limit 1`).",
    )
    # --- end diffusion engine ---
    video_width: int = Field(default=1080, ge=64)
    video_height: int = Field(default=1920, ge=64)
    video_fps: int = Field(default=30, ge=1, le=120)
    # Unset: a creative without a duration factor is the platforms' 6 s or 15 s cut. Set:
    # a custom cut of one shot per photo (quick previews, tests).
    shot_seconds: float | None = Field(default=None, gt=0, le=30)
    end_card_seconds: float | None = Field(default=None, gt=0, le=10)
    # -- creatives: brand kit, voiceover, provenance (generation/brand.py, provenance.py) --
    brand_kit_path: Path | None = Field(
        default=None,
        description="Brand kit JSON (logo, colours, font, tone); see generation/brand.py.",
    )
    voiceover: bool = Field(
        default=True, description="Speak the script (espeak-ng) when installed."
    )
    voice: Literal["auto", "api", "festival", "espeak", "none"] = Field(
        default="auto",
        description="Who speaks the script (a campaign may choose another): `auto` is the "
        "speech API when set, else Festival's HTS voice, else espeak-ng (the fallback).",
    )
    speech_api_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible speech API's base URL, e.g. "
        "`https://api.openai.com/v1` (POST /audio/speech).",
    )
    speech_api_key: SecretStr | None = Field(default=None, description="Its bearer key.")
    speech_model: str = Field(default="gpt-4o-mini-tts", description="Its speech model.")
    speech_voice: str = Field(default="alloy", description="Its voice name.")
    ai_label: bool | None = Field(
        default=None, description="Visible 'AI-generated' label; default: the brand kit's choice."
    )
    c2pa_cert_path: Path | None = Field(
        default=None, description="PEM chain (signing cert, then CA) for C2PA Content Credentials."
    )
    c2pa_key_path: Path | None = Field(
        default=None, description="PEM private key of the C2PA signing cert (EC P-256 for es256)."
    )
    c2pa_alg: str = Field(default="es256", description="C2PA signing algorithm matching the key.")

    shopify_shop: str | None = Field(default=None, description="my-store.myshopify.com")
    shopify_access_token: SecretStr | None = None
    shopify_api_version: str = "2026-10"
    # --- Shopify connector ---
    shopify_api_key: str | None = Field(
        default=None,
        description="The app's client ID: with the secret it buys Admin API tokens (client "
        "credentials grant, a Dev Dashboard app) when no access token is set.",
    )
    shopify_api_secret: SecretStr | None = Field(
        default=None,
        description="The app's client secret: tokens by the client credentials grant, webhook "
        "HMACs and OAuth callbacks.",
    )
    shopify_bulk_threshold: int = Field(
        default=5000, ge=0, description="Catalogs at least this large sync via Bulk Operations."
    )
    shopify_timeout_s: float = Field(default=30.0, gt=0, description="Per-request timeout.")
    shopify_max_retries: int = Field(default=6, ge=0, le=20)
    # --- end Shopify connector ---
    # --- agent checkout (ACP) and payments: commerce/checkout*.py, commerce/acp_*.py ---
    stripe_api_key: SecretStr | None = Field(
        default=None, description="Stripe secret key; use a test-mode sk_test_… key first."
    )
    stripe_api_base: str | None = Field(
        default=None,
        description="Base URL of another Stripe-compatible server (a local emulator); "
        "default is Stripe's own API.",
    )
    stripe_timeout_s: float = Field(default=10.0, gt=0, description="Per-request Stripe timeout.")
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Signing secret (whsec_…) of the Stripe webhook endpoint /webhooks/stripe; "
        "without it Stripe's webhooks are refused and paid checkouts are found by polling.",
    )
    acp_payment_lease_seconds: int = Field(
        default=60, ge=1, description="How long one worker asks Stripe before another may."
    )
    acp_merchant_id: str = Field(default="reelcart", description="Merchant id in ACP allowances.")
    acp_tax_rate_bps: int = Field(
        default=0, ge=0, le=10_000, description="Sales tax on items, basis points (825 = 8.25%)."
    )
    acp_shipping_rates: list[ShippingRate] = Field(
        default_factory=lambda: [
            ShippingRate(id="standard", title="Standard", amount_minor=500, min_days=5, max_days=7),
            ShippingRate(id="express", title="Express", amount_minor=1500, min_days=1, max_days=2),
        ],
        description="Shipping options offered at checkout (JSON list in the environment).",
    )
    acp_digital_tag: str = Field(
        default="digital", description="Products with this tag are delivered digitally."
    )
    acp_session_ttl_seconds: int = Field(
        default=1800, ge=60, description="A checkout session (and its stock hold) expires then."
    )
    acp_max_quantity: int = Field(
        default=10, ge=1, description="Most units of one item per order (every door)."
    )
    checkout_hold_seconds: int = Field(
        default=600,
        ge=1,
        description="How long a payable checkout holds its stock before payment starts "
        "(renewed on each update; never longer than the session).",
    )
    checkout_max_open_per_client: int = Field(
        default=100,
        ge=1,
        description="Open checkouts one UCP platform may have (the ACP bearer, the merchant's "
        "authenticated partner, is bound by the per-line cap and hold time only).",
    )
    checkout_max_held_units_per_client: int = Field(
        default=100, ge=1, description="Units one UCP platform's checkouts may hold at once."
    )
    acp_policy_base_url: str | None = Field(
        default=None, description="Where terms/privacy/returns pages live; default the public URL."
    )
    acp_webhook_url: str | None = Field(
        default=None, description="Agent platform's order webhook receiver (order_create/update)."
    )
    acp_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC secret for the Merchant-Signature of order webhooks."
    )
    acp_feed_url: str | None = Field(
        default=None, description="Agent platform's Feed API base URL (openapi.feed.yaml)."
    )
    acp_feed_token: SecretStr | None = Field(default=None, description="Bearer token for the feed.")
    acp_feed_id: str | None = Field(default=None, description="Existing feed id, else created.")
    acp_feed_country: str = Field(default="US", description="target_country of a created feed.")
    # --- UCP (app/ucp/) ---
    ucp_simulation_secret: SecretStr | None = Field(
        default=None,
        description="Enables the test-only POST /testing/simulate-shipping/{order_id} (header "
        "Simulation-Secret); unset in production, where the route does not exist.",
    )
    ucp_signing_key_path: Path | None = Field(
        default=None,
        description="PEM of the P-256 key UCP messages are signed with (published in "
        "/.well-known/ucp); default: <data dir>/ucp/signing_key.pem, created on first use.",
    )
    ucp_payment_handler_id: str = Field(
        default="stripe_card",
        min_length=1,
        max_length=64,
        description="The id of the card handler in /.well-known/ucp (a platform that "
        "hard-codes another id, e.g. the UCP samples' mock_payment_handler, can be served).",
    )
    ucp_profile_overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Platform profile URLs fetched from another URL instead (JSON object, "
        "named URL -> fetched URL): a platform whose published profile URL cannot be "
        "reached from here, e.g. a demo client's placeholder, in tests.",
    )
    # --- input limits and signing (app/http_limits.py, http_auth.py, safe_fetch) ---
    max_request_bytes: int = Field(
        default=1 << 20, ge=1024, description="Largest request body any endpoint reads (413)."
    )
    signing_secret: SecretStr | None = Field(
        default=None,
        description="Key material for sign-in sessions and tracking links; default: derived "
        "from the API token.",
    )
    login_attempts_per_minute: int = Field(
        default=5, ge=1, description="POST /login tries per client address per minute (429)."
    )
    tracking_link_ttl_seconds: int = Field(
        default=30 * 86400, ge=60, description="How long a signed tracking link stays valid."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For/-Proto headers are believed; default none (the peer is the client).",
    )
    ucp_profile_deadline_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Total time a platform profile fetch may take (connect, headers, body).",
    )
    ucp_identity_platforms: str = Field(
        default="",
        description="Comma-separated UCP platform profile URLs trusted to have linked the "
        "buyer's identity (their buyer.email names a shopper they signed in), so that buyer's "
        "stored addresses are offered; default: none (a typed e-mail proves nobody).",
    )
    fetch_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts or IPs a catalog image may come from although they "
        "are not public (tests, a private CDN); default: public addresses only.",
    )
    embedded_host_origins: str = Field(
        default="",
        description="Comma-separated origins (scheme://host[:port]) of hosts allowed to embed "
        "the checkout page (UCP Embedded Checkout); default: none, the page is never framed.",
    )
    fetch_max_image_bytes: int = Field(
        default=20 << 20, ge=1024, description="Largest catalog image downloaded."
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'reelcart.db').resolve()}"

    @property
    def resolved_media_url(self) -> str:
        """The media store URL, defaulting to a local folder in the data dir."""
        return self.media_url or str((self.data_dir / "media").resolve())

    @property
    def resolved_public_base_url(self) -> str:
        """Base URL for links handed to agents."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def renders_dir(self) -> Path:
        """Scratch space where creatives are rendered before publishing."""
        return self.data_dir / "renders"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment (tests build their own ``Settings``)."""
    return Settings()
