"""The one settings object: every knob, read from ``REELCART_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEMO_CATALOG", "Settings", "get_settings"]

DEMO_CATALOG = Path(__file__).parent / "demo_store" / "products.json"


class Settings(BaseSettings):
    """reelcart's configuration.

    Secrets are ``SecretStr`` so they never appear in ``repr``, logs or artifacts;
    read them with ``.get_secret_value()`` at the one place that sends them.
    """

    model_config = SettingsConfigDict(env_prefix="REELCART_", extra="ignore")

    data_dir: Path = Field(default=Path(".reelcart"), description="Where local state lives.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is a SQLite file in the data dir. "
        "For PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token required by the MCP and ACP HTTP endpoints."
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
    video_width: int = Field(default=1080, ge=64)
    video_height: int = Field(default=1920, ge=64)
    video_fps: int = Field(default=30, ge=1, le=120)
    shot_seconds: float = Field(default=2.5, gt=0, le=30)
    end_card_seconds: float = Field(default=1.5, gt=0, le=10)

    shopify_shop: str | None = Field(default=None, description="my-store.myshopify.com")
    shopify_access_token: SecretStr | None = None
    shopify_api_version: str = "2026-10"
    stripe_secret_key: SecretStr | None = None

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
