"""A real OAuth 2.1 authorization server on loopback, built with authlib's Flask integration.

Authorization code with PKCE (S256 required) and client credentials; JWT access tokens
(RFC 9068) signed with an RSA key published at ``/jwks``; the audience is the RFC 8707
``resource`` the client asked for; RFC 8414 metadata at
``/.well-known/oauth-authorization-server``. The authorize endpoint approves at once for
one test user (no login page), which is what a test needs of a person.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

__all__ = ["OAuthClient", "OAuthServer", "run_oauth_server"]

USER = "shopper-1"


@dataclass(frozen=True)
class _User:
    id: str

    def get_user_id(self) -> str:
        return self.id


@dataclass
class OAuthClient(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    scope: str
    grant_types: list[str]
    auth_method: str = "client_secret_basic"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(
            client_secret, self.client_secret
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None
    resource: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_nonce(self) -> None:
        return None

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    def is_expired(self) -> bool:
        return time.time() - self.auth_time > 300


class OAuthServer:
    """The authorization server's state: clients, codes, keys, issued tokens."""

    def __init__(self, token_ttl_s: int = 600) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "as-key-1", "use": "sig"})
        self.clients: dict[str, OAuthClient] = {}
        self.codes: dict[str, _Code] = {}
        self.issued: list[dict[str, Any]] = []
        self.token_ttl_s = token_ttl_s
        self.url = ""
        self.app = self._build()

    def add_client(self, client: OAuthClient) -> OAuthClient:
        self.clients[client.client_id] = client
        return client

    def _build(self) -> Flask:
        app = Flask("oauth-test-server")
        server_state = self

        class Tokens(JWTBearerTokenGenerator):  # type: ignore[misc]
            def get_jwks(self) -> dict[str, Any]:
                return KeySet([server_state.key]).as_dict(private=True)

            def get_audiences(self, client: OAuthClient, user: Any, scope: str) -> Any:
                # RFC 8707: the token is for the resource the client named.
                resource = request.values.get("resource")
                if resource is None and request.values.get("code") in server_state.codes:
                    resource = server_state.codes[request.values["code"]].resource
                return resource or client.get_client_id()

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ]

            def save_authorization_code(self, code: str, req: Any) -> None:
                server_state.codes[code] = _Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope or "",
                    user=USER,
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                    resource=req.payload.data.get("resource"),
                )

            def query_authorization_code(self, code: str, client: OAuthClient) -> _Code | None:
                found = server_state.codes.get(code)
                if found and found.client_id == client.client_id and not found.is_expired():
                    return found
                return None

            def delete_authorization_code(self, authorization_code: _Code) -> None:
                # Kept until the token is made (the audience reads it), then dropped.
                pass

            def authenticate_user(self, authorization_code: _Code) -> _User:
                return _User(authorization_code.user)

        def save_token(token: dict[str, Any], req: Any) -> None:
            server_state.issued.append(dict(token))
            code = req.payload.data.get("code") if req.payload else None
            server_state.codes.pop(code, None)

        authorization = AuthorizationServer(
            app, query_client=lambda cid: server_state.clients.get(cid), save_token=save_token
        )
        authorization.register_grant(CodeGrant, [CodeChallenge(required=True)])
        authorization.register_grant(grants.ClientCredentialsGrant)
        generator = Tokens(issuer="")
        generator.expires_generator = lambda client, grant_type: server_state.token_ttl_s
        authorization.register_token_generator("default", generator)
        self._generator = generator

        @app.get("/authorize")
        def authorize() -> Any:
            return authorization.create_authorization_response(grant_user=_User(USER))

        @app.post("/token")
        def token() -> Any:
            return authorization.create_token_response()

        @app.get("/jwks")
        def jwks() -> Any:
            return jsonify(KeySet([server_state.key]).as_dict(private=False))

        @app.get("/.well-known/oauth-authorization-server")
        def metadata() -> Any:
            base = server_state.url
            return jsonify(
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "jwks_uri": f"{base}/jwks",
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code", "client_credentials"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_basic",
                        "client_secret_post",
                        "none",
                    ],
                    "scopes_supported": ["catalog:read", "checkout"],
                }
            )

        return app

    def set_url(self, url: str) -> None:
        self.url = url
        self._generator.issuer = url


@contextmanager
def run_oauth_server(token_ttl_s: int = 600) -> Iterator[OAuthServer]:
    """An ``OAuthServer`` serving on 127.0.0.1 (an ephemeral port) for the block."""
    state = OAuthServer(token_ttl_s)
    httpd = make_server("127.0.0.1", 0, state.app, threaded=True)
    state.set_url(f"http://127.0.0.1:{httpd.server_port}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
