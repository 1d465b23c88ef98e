"""/mcp as an OAuth 2.1 resource server, against a real authorization server (authlib).

The app runs on a real loopback socket; tokens come from the authorization server over
HTTP (client credentials, and authorization code with PKCE driven by the SDK's own OAuth
client, which discovers everything from the 401 and the RFC 9728 metadata).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import jwt
import pytest
from joserfc.jwk import RSAKey
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from app.asgi import create_app
from app.mcp.http import warm_search
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from tests.commerce.acp_helpers import stock_shop
from tests.fakes.oauth_server import OAuthClient, OAuthServer, run_oauth_server
from tests.servers import free_port, serve_on_loopback

pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("mcp-oauth")]
CALLBACK = "http://127.0.0.1:1/callback"
CATALOG_CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "search_products", "arguments": {"query": "mug"}},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def oauth() -> Iterator[OAuthServer]:
    with run_oauth_server() as server:
        server.add_client(
            OAuthClient(
                "service",
                "service-secret",
                [CALLBACK],
                "catalog:read checkout",
                ["client_credentials"],
            )
        )
        server.add_client(
            OAuthClient(
                "assistant",
                None,
                [CALLBACK],
                "catalog:read checkout",
                ["authorization_code"],
                auth_method="none",
            )
        )
        yield server


@pytest.fixture(scope="module")
def mcp_url(oauth: OAuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("oauth-app")
    port = free_port()
    settings = Settings(
        data_dir=folder / "data",
        api_token="dev-token",
        oauth_issuer=oauth.url,
        port=port,
    )
    db = Database(f"sqlite:///{folder / 'reelcart.db'}")
    db.migrate()
    store = MediaStore(str(folder / "media"), settings.resolved_public_base_url)
    stock_shop(db, store, folder)
    warm_search(db)  # the model loads once per process; the app's start then stays quick
    with serve_on_loopback(create_app(settings, db, store), port=port) as base:
        yield f"{base}/mcp"
    db.dispose()


def client_credentials(oauth: OAuthServer, scope: str, resource: str) -> str:
    response = httpx.post(
        f"{oauth.url}/token",
        data={"grant_type": "client_credentials", "scope": scope, "resource": resource},
        auth=("service", "service-secret"),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def post(mcp_url: str, token: str | None, body: dict[str, Any] = CATALOG_CALL) -> httpx.Response:
    """One stateless 2026-07-28 request (no session, the envelope in ``_meta``)."""
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = body | {"params": body["params"] | {"_meta": envelope}}
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": body["params"]["name"],
    }
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.post(mcp_url, json=body, headers=headers)


def challenge(response: httpx.Response) -> dict[str, str]:
    scheme, _, rest = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Bearer"
    return dict(
        (k.strip(), v.strip().strip('"')) for k, v in (p.split("=", 1) for p in rest.split('", '))
    )


def test_protected_resource_metadata_per_rfc_9728(mcp_url: str, oauth: OAuthServer) -> None:
    unauthenticated = post(mcp_url, None)
    assert unauthenticated.status_code == 401
    metadata_url = challenge(unauthenticated)["resource_metadata"]
    base = mcp_url.removesuffix("/mcp")
    # RFC 9728 section 3.1: the well-known segment goes between the host and the path.
    assert metadata_url == f"{base}/.well-known/oauth-protected-resource/mcp"
    for url in (metadata_url, f"{base}/.well-known/oauth-protected-resource"):
        document = httpx.get(url).json()
        assert document["resource"] == mcp_url
        assert document["authorization_servers"] == [oauth.url]
        assert set(document["scopes_supported"]) == {"catalog:read", "checkout"}
        assert document["bearer_methods_supported"] == ["header"]


def test_tokens_are_checked_for_signature_issuer_audience_and_expiry(
    mcp_url: str, oauth: OAuthServer
) -> None:
    good = client_credentials(oauth, "catalog:read", mcp_url)
    assert post(mcp_url, good).status_code == 200

    other_resource = client_credentials(oauth, "catalog:read", "http://127.0.0.1:9/mcp")
    claims = jwt.decode(good, options={"verify_signature": False})
    forger = RSAKey.generate_key(2048, parameters={"kid": "as-key-1"})  # same kid, other key
    forged = jwt.encode(claims, forger.as_pem(private=True), "RS256", {"kid": "as-key-1"})
    tampered = good[: good.rindex(".") + 1] + good[good.rindex(".") + 1 :][::-1]
    # Signed with the authorization server's own key, so only the claim is wrong.
    real_key = oauth.key.as_pem(private=True)
    header = {"kid": "as-key-1", "typ": "at+jwt"}
    now = int(time.time())
    expired = jwt.encode(claims | {"exp": now - 60, "iat": now - 660}, real_key, "RS256", header)
    other_issuer = jwt.encode(claims | {"iss": "http://127.0.0.1:9"}, real_key, "RS256", header)
    no_expiry = jwt.encode(
        {k: v for k, v in claims.items() if k != "exp"}, real_key, "RS256", header
    )
    assert post(mcp_url, jwt.encode(claims, real_key, "RS256", header)).status_code == 200
    for token in (
        other_resource,
        forged,
        tampered,
        expired,
        other_issuer,
        no_expiry,
        "dev-token-but-wrong",
    ):
        refused = post(mcp_url, token)
        assert refused.status_code == 401, token
        assert challenge(refused)["error"] == "invalid_token"
    assert post(mcp_url, "dev-token").status_code == 200  # the development mode stays


def test_checkout_needs_the_checkout_scope(mcp_url: str, oauth: OAuthServer) -> None:
    reader = client_credentials(oauth, "catalog:read", mcp_url)
    create = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "create_checkout", "arguments": {"items": []}},
    }
    refused = post(mcp_url, reader, create)
    assert refused.status_code == 403
    details = challenge(refused)
    assert details["error"] == "insufficient_scope"
    assert "checkout" in details["scope"].split()  # the scope to ask for
    assert details["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    batch = httpx.post(
        mcp_url,
        json=[CATALOG_CALL, create],
        headers={"authorization": f"Bearer {reader}", "accept": "application/json"},
    )
    assert batch.status_code == 403  # a batch is no way around the scope check
    buyer = client_credentials(oauth, "catalog:read checkout", mcp_url)
    allowed = post(mcp_url, buyer, create)
    assert allowed.status_code == 200  # reaches the tool (which rejects the empty cart)


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client = OAuthClientInformationFull(
            client_id="assistant",
            redirect_uris=[CALLBACK],
            token_endpoint_auth_method="none",
            grant_types=["authorization_code"],
            response_types=["code"],
            scope="catalog:read checkout",
        )

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_sdk_client_authorizes_with_code_and_pkce(
    mcp_url: str, oauth: OAuthServer, mode: str
) -> None:
    redirect: dict[str, str] = {}

    async def open_browser(url: str) -> None:
        # The person approves: the authorization server redirects back with a code.
        query = parse_qs(urlsplit(url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["resource"] == [mcp_url]
        async with httpx.AsyncClient() as browser:
            answer = await browser.get(url)
        assert answer.status_code == 302, answer.text
        redirect.update(
            {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
        )

    async def callback() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=redirect["code"], state=redirect.get("state"))

    storage = MemoryStorage()
    auth = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[CALLBACK], scope="catalog:read checkout", client_name="assistant"
        ),
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=callback,
    )
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        Client(streamable_http_client(mcp_url, http_client=http), mode=mode) as client,
    ):
        found = await client.call_tool("search_products", {"query": "mug"})
    assert found.structured_content["products"][0]["title"] == "Stoneware Mug"
    assert storage.tokens is not None
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert claims["aud"] == mcp_url and claims["sub"] == "shopper-1"
    assert set(claims["scope"].split()) == {"catalog:read", "checkout"}
