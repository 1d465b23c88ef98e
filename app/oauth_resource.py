"""/mcp as an OAuth 2.1 resource server (MCP authorization, RFC 9728, RFC 6750).

Hosted assistants obtain a JWT access token from the configured authorization server and
send it as a bearer token. A token is accepted when its signature verifies against the
issuer's JWKS and its ``iss``, ``aud`` (this resource's URL) and ``exp`` are right. The
static ``REELCART_API_TOKEN`` stays accepted as the development mode, with every scope.

Built on the SDK's pieces: ``TokenVerifier``/``AccessToken``, its bearer backend and
``RequireAuthMiddleware`` (401 with ``WWW-Authenticate: Bearer ... resource_metadata=``),
and its RFC 9728 metadata route. What the SDK leaves to the server, per tool scopes, is
``ScopeGuard``: a ``tools/call`` whose tool needs a scope the token lacks is answered
403 ``insufficient_scope`` with the scope to ask for, as the spec's scope challenge says.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import httpx
import jwt
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from pydantic import AnyHttpUrl
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.http_auth import token_matches
from app.http_limits import read_all, replay
from reelcart.settings import Settings

__all__ = [
    "DevTokenVerifier",
    "JwtVerifier",
    "ScopeGuard",
    "TokenVerifiers",
    "discover_jwks_url",
    "protect",
    "resource_metadata_routes",
    "verifier_from_settings",
]

log = logging.getLogger(__name__)
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
_MAX_BODY = 4 * 1024 * 1024


class DevTokenVerifier:
    """The static development token: every scope, no expiry."""

    def __init__(self, token: str, scopes: Sequence[str], resource: str) -> None:
        self._token = token.encode()
        self._scopes = list(scopes)
        self._resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token_matches(token, self._token):
            return None
        return AccessToken(
            token=token, client_id="dev-token", scopes=self._scopes, resource=self._resource
        )


def discover_jwks_url(issuer: str, timeout: float = 10.0) -> str:
    """``jwks_uri`` from the issuer's RFC 8414 (or OpenID) metadata."""
    base = issuer.rstrip("/")
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        try:
            response = httpx.get(base + path, timeout=timeout)
        except httpx.HTTPError:
            continue
        if response.status_code == 200 and "jwks_uri" in response.json():
            return str(response.json()["jwks_uri"])
    raise LookupError(f"no jwks_uri in the metadata of the authorization server {issuer}")


class JwtVerifier:
    """JWT access tokens (RFC 9068) signed by ``issuer``'s keys, for ``audience`` only."""

    def __init__(self, issuer: str, audience: str, jwks_url: str | None = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._keys: jwt.PyJWKClient | None = None

    def _client(self) -> jwt.PyJWKClient:
        if self._keys is None:
            url = self._jwks_url or discover_jwks_url(self.issuer)
            # Keys are cached; an unknown ``kid`` refetches the set (key rotation).
            self._keys = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10)
        return self._keys

    def verify(self, token: str) -> AccessToken | None:
        try:
            key = self._client().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
                leeway=10,  # clock skew between the two servers
            )
        except (jwt.PyJWTError, LookupError) as error:
            # The reason, never the token: tokens are secrets.
            log.info("bearer token refused: %s", type(error).__name__)
            return None
        raw_scope = claims.get("scope", claims.get("scp", ""))
        scopes = raw_scope.split() if isinstance(raw_scope, str) else [str(s) for s in raw_scope]
        client_id = str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "")
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=str(claims["sub"]) if "sub" in claims else None,
            claims={"iss": claims["iss"]},
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        # JWKS fetches block: off the event loop.
        return await anyio.to_thread.run_sync(self.verify, token)


class TokenVerifiers:
    """The first verifier that accepts the token wins."""

    def __init__(self, verifiers: Sequence[TokenVerifier]) -> None:
        self._verifiers = list(verifiers)

    async def verify_token(self, token: str) -> AccessToken | None:
        for verifier in self._verifiers:
            found = await verifier.verify_token(token)
            if found is not None:
                return found
        return None


def _challenge(error: str, description: str, metadata_url: str, scope: str) -> str:
    parts = [
        f'error="{error}"',
        f'error_description="{description}"',
        f'scope="{scope}"',
        f'resource_metadata="{metadata_url}"',
    ]
    return "Bearer " + ", ".join(parts)


class ScopeGuard:
    """Refuse a ``tools/call`` whose tool needs a scope the token does not carry.

    Reads the JSON-RPC body (replaying it downstream unchanged). Batches are not part of
    either MCP era, so one message per request is assumed; anything unparsable passes on
    and is answered by the MCP layer in its own error shape.
    """

    def __init__(self, app: ASGIApp, tool_scopes: Mapping[str, str], metadata_url: str) -> None:
        self.app = app
        self.tool_scopes = dict(tool_scopes)
        self.metadata_url = metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_all(receive, _MAX_BODY)
        granted = set(getattr(scope.get("auth"), "scopes", []) or [])
        needed = self._needed_scope(body, granted)
        if needed is not None:
            challenge = _challenge(
                "insufficient_scope",
                f"Required scope: {needed}",
                self.metadata_url,
                " ".join(sorted(granted | {needed})),
            )
            refused = JSONResponse(
                {"error": "insufficient_scope", "error_description": f"Required scope: {needed}"},
                status_code=403,
                headers={"WWW-Authenticate": challenge},
            )
            await refused(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)

    def _needed_scope(self, body: bytes, granted: set[str]) -> str | None:
        """The first scope a ``tools/call`` in ``body`` needs and ``granted`` lacks."""
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        # A batch (not valid in either era, but never a way around the check) is judged whole.
        for message in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(message, dict) or message.get("method") != "tools/call":
                continue
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            needed = self.tool_scopes.get(name) if isinstance(name, str) else None
            if needed is not None and needed not in granted:
                return needed
        return None


def protect(
    app: ASGIApp,
    verifier: TokenVerifier,
    resource_url: str,
    tool_scopes: Mapping[str, str],
    *,
    advertise_metadata: bool = True,
) -> ASGIApp:
    """``app`` behind bearer auth: 401 with the metadata URL, 403 for a missing scope."""
    metadata_url = str(build_resource_metadata_url(AnyHttpUrl(resource_url)))
    guarded: ASGIApp = ScopeGuard(app, tool_scopes, metadata_url)
    guarded = RequireAuthMiddleware(
        guarded, [], AnyHttpUrl(metadata_url) if advertise_metadata else None
    )
    guarded = AuthContextMiddleware(guarded)
    return AuthenticationMiddleware(guarded, backend=BearerAuthBackend(verifier))


def resource_metadata_routes(
    resource_url: str, authorization_servers: Sequence[str], scopes: Sequence[str]
) -> list[Route]:
    """RFC 9728 metadata at ``/.well-known/oauth-protected-resource/<path>`` and at the root."""
    routes = create_protected_resource_routes(
        resource_url=AnyHttpUrl(resource_url),
        # Strings, not AnyHttpUrl: the model keeps a path-less issuer exactly as configured
        # (issuer identifiers are compared as strings, RFC 8414).
        authorization_servers=list(authorization_servers),  # type: ignore[arg-type]
        scopes_supported=list(scopes),
        resource_name="reelcart MCP",
    )
    root = routes[0]
    if root.path != "/.well-known/oauth-protected-resource":
        routes.append(
            Route("/.well-known/oauth-protected-resource", root.endpoint, methods=root.methods)
        )
    return routes


def verifier_from_settings(
    settings: Settings, resource_url: str, scopes: Sequence[str]
) -> TokenVerifiers:
    """JWTs from ``oauth_issuer`` and the static development token, whichever are set.

    With neither, every request is refused: an acting endpoint is never open by accident.
    """
    verifiers: list[TokenVerifier] = []
    if settings.oauth_issuer:
        verifiers.append(JwtVerifier(settings.oauth_issuer, resource_url, settings.oauth_jwks_url))
    if settings.api_token:
        verifiers.append(
            DevTokenVerifier(settings.api_token.get_secret_value(), scopes, resource_url)
        )
    return TokenVerifiers(verifiers)
