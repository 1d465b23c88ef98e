"""Going live on Shopify the way new stores must: a Dev Dashboard app whose client ID and
secret buy an Admin API token (the client credentials grant), a command that syncs the
store, and settings mistakes that fail at once with what to fix."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import app
from connectors.shopify import (
    ShopifyAuthError,
    ShopifyNotConfigured,
    ShopifyUnreachable,
    client_from_settings,
    fetch_shop,
)
from reelcart.db import Database
from reelcart.models import Campaign, Product
from reelcart.settings import Settings, get_settings
from tests.fakes.shopify_server import FakeShopify
from tests.servers import free_port


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify() as fake:
        fake.state.add_product(1)
        fake.state.add_product(2)
        yield fake


def _settings(shop: FakeShopify, **extra: object) -> Settings:
    values: dict[str, object] = {
        "shopify_shop": shop.base_url,
        "shopify_api_key": shop.state.client_id,
        "shopify_api_secret": shop.state.api_secret,
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


def test_client_id_and_secret_buy_a_token_that_is_renewed(shop: FakeShopify) -> None:
    async def go(settings: Settings) -> list[str]:
        async with client_from_settings(settings) as client:
            names = [(await fetch_shop(client)).name]
            # The token expires (a day later): Shopify answers 401, a new one is bought.
            for token in list(shop.state.issued_tokens):
                shop.state.issued_tokens[token] = 0.0
            names.append((await fetch_shop(client)).name)
            return names

    assert asyncio.run(go(_settings(shop))) == ["Fake Shop", "Fake Shop"]
    assert len(shop.state.issued_tokens) == 2  # one grant, one renewal
    # What the endpoint answers is the documented shape, form-encoded as the docs send it.
    granted = httpx.post(
        f"{shop.base_url}/admin/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": shop.state.client_id,
            "client_secret": shop.state.api_secret,
        },
    ).json()
    assert set(granted) == {"access_token", "scope", "expires_in"}
    assert granted["expires_in"] == 86399 and granted["access_token"].startswith("shpat_")


def test_a_wrong_secret_is_refused_naming_the_shop(shop: FakeShopify) -> None:
    async def go() -> None:
        async with client_from_settings(_settings(shop, shopify_api_secret="nope")) as client:
            await fetch_shop(client)

    with pytest.raises(ShopifyAuthError) as refused:
        asyncio.run(go())
    assert shop.base_url in str(refused.value) and "REELCART_SHOPIFY_API_KEY" in str(refused.value)
    assert "nope" not in str(refused.value)  # the secret is never echoed


def test_a_wrong_shop_fails_fast_naming_the_host() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    async def go(settings: Settings) -> None:
        async with client_from_settings(settings) as client:
            await fetch_shop(client)

    for extra in (
        {"shopify_api_key": "id", "shopify_api_secret": "secret"},
        {"shopify_access_token": "shpat_x"},
    ):
        started = time.monotonic()
        with pytest.raises(ShopifyUnreachable) as unreachable:
            asyncio.run(go(Settings(shopify_shop=dead, **extra)))  # type: ignore[arg-type]
        assert time.monotonic() - started < 5
        assert dead in str(unreachable.value) and "REELCART_SHOPIFY_SHOP" in str(unreachable.value)
    with pytest.raises(ShopifyNotConfigured) as missing:
        client_from_settings(Settings(shopify_shop="x.myshopify.com", shopify_api_key="id"))
    assert "REELCART_SHOPIFY_API_SECRET" in str(missing.value)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REELCART_DATA_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_KEY"):
        monkeypatch.delenv(f"REELCART_{name}", raising=False)
    monkeypatch.delenv("REELCART_SHOPIFY_API_SECRET", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_reelcart_sync_source_shopify(
    shop: FakeShopify, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELCART_SHOPIFY_SHOP", shop.base_url)
    monkeypatch.setenv("REELCART_SHOPIFY_API_KEY", shop.state.client_id)
    monkeypatch.setenv("REELCART_SHOPIFY_API_SECRET", shop.state.api_secret)
    monkeypatch.setenv("REELCART_FETCH_ALLOW_HOSTS", "127.0.0.1")  # the fake's CDN
    result = CliRunner().invoke(app, ["sync", "--source", "shopify"])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output and shop.state.api_secret not in result.output
    db = Database(get_settings().resolved_database_url)
    with db.session() as session:
        assert session.query(Product).filter_by(source="shopify").count() == 2
    db.dispose()


def test_settings_mistakes_fail_at_once_without_tracebacks(data_dir: Path) -> None:
    db = Database(get_settings().resolved_database_url)
    db.migrate()
    with db.session() as session:
        session.add(Campaign(name="spring", plan={"factors": {"hook": ["price", "title"]}}))
    db.dispose()
    started = time.monotonic()
    run = CliRunner().invoke(app, ["campaign", "run", "spring", "--source", "shopify"])
    assert time.monotonic() - started < 5
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert "REELCART_SHOPIFY_SHOP" in run.output and "REELCART_SHOPIFY_API_KEY" in run.output
    sync = CliRunner().invoke(app, ["sync", "--source", "shopify"])
    assert sync.exit_code == 2 and "REELCART_SHOPIFY_SHOP" in sync.output
    dead = f"http://127.0.0.1:{free_port()}"
    get_settings.cache_clear()
    started = time.monotonic()
    wrong = CliRunner().invoke(
        app,
        ["sync", "--source", "shopify"],
        env={
            "REELCART_SHOPIFY_SHOP": dead,
            "REELCART_SHOPIFY_API_KEY": "id",
            "REELCART_SHOPIFY_API_SECRET": "secret",
        },
    )
    assert time.monotonic() - started < 5
    assert wrong.exit_code == 2 and "127.0.0.1" in wrong.output, wrong.output
    assert "Traceback" not in wrong.output
