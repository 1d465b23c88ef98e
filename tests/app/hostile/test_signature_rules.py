"""Signed UCP requests as ``signatures.md`` says (real sockets), with the signatures made
here by a small RFC 9421 signer of the test's own: ``idempotency-key`` must be signed on
POST and PUT, ``@query`` whenever there is a query, ``created``/``expires`` must put the
signature in its window; and hostile signatures and profiles get a 4xx in UCP's shape,
never a 500."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.ucp.envelope import UCP_VERSION
from reelcart.db import Database
from tests.app.ucp.conftest import served, sqlite_db
from tests.app.ucp.ucp_helpers import Platform, client, create_body
from tests.commerce.acp_helpers import localstripe
from tests.servers import serve_on_loopback

__all__ = ["localstripe", "served", "sqlite_db"]

pytestmark = pytest.mark.xdist_group("hostile")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(
    key: ec.EllipticCurvePrivateKey,
    kid: str,
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    components: list[str],
    params: str = "",
) -> dict[str, str]:
    """RFC 9421 §2.5 signature base and ES256 r||s, written from the RFC."""
    parts = httpx.URL(url)
    lowered = {k.lower(): v for k, v in headers.items()}
    if body:
        digest = base64.b64encode(__import__("hashlib").sha256(body).digest()).decode()
        lowered["content-digest"] = f"sha-256=:{digest}:"
    values = {
        "@method": method,
        "@authority": parts.netloc.decode(),
        "@path": parts.path,
        "@query": "?" + parts.query.decode(),
    }
    lines = [f'"{c}": {values[c] if c.startswith("@") else lowered[c]}' for c in components]
    inner = " ".join(f'"{c}"' for c in components)
    signature_params = f'({inner}){params};keyid="{kid}"'
    lines.append(f'"@signature-params": {signature_params}')
    der = key.sign("\n".join(lines).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    out = {
        **headers,
        "Signature-Input": f"sig1={signature_params}",
        "Signature": f"sig1=:{base64.b64encode(raw).decode()}:",
    }
    if body:
        out["Content-Digest"] = lowered["content-digest"]
    return out


class _Signer:
    """A platform whose profile (served on loopback) is whatever the test sets."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk: dict[str, Any] = {
            "kid": "k1",
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }
        self.profiles: dict[str, bytes] = {}
        self.base = ""

    def serve(self, name: str, profile: Any) -> str:
        raw = profile if isinstance(profile, bytes) else json.dumps(profile).encode()
        self.profiles[name] = raw
        return f"{self.base}/{name}.json"

    def app(self) -> Starlette:
        async def profile(request: Request) -> Response:
            raw = self.profiles[request.path_params["name"]]
            return Response(raw, media_type="application/json")

        return Starlette(routes=[Route("/{name}.json", profile)])

    def valid(self, name: str = "good") -> str:
        return self.serve(name, {"ucp": {"version": UCP_VERSION}, "signing_keys": [self.jwk]})


@pytest.fixture
def signer() -> Iterator[_Signer]:
    made = _Signer()
    with serve_on_loopback(made.app()) as base:
        made.base = base
        yield made


def _post(http: httpx.Client, base: str, signer: _Signer, profile: str, **kw: Any):
    url = f"{base}/checkout-sessions"
    body = json.dumps(create_body()).encode()
    headers = {
        "UCP-Agent": f'profile="{profile}"',
        "Idempotency-Key": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    components = kw.pop(
        "components",
        [
            "@method",
            "@authority",
            "@path",
            "ucp-agent",
            "idempotency-key",
            "content-digest",
            "content-type",
        ],
    )
    signed = _signed(signer.key, "k1", "POST", url, body, headers, components, **kw)
    return http.post(url, content=body, headers=signed)


def _refused(answer: httpx.Response, status: int, code: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["ucp"]["status"] == "error" and body["messages"][0]["type"] == "error"
    if code:
        assert body["code"] == code, body


def test_signatures_carry_what_the_spec_requires(
    served: tuple[str, Platform, Database], signer: _Signer
) -> None:
    base, _, _ = served
    profile = signer.valid()
    now = int(time.time())
    with client(base) as http:
        assert _post(http, base, signer, profile).status_code == 201
        # The idempotency key unsigned: the same signature could be sent again under a new one.
        unbound = ["@method", "@authority", "@path", "ucp-agent", "content-digest", "content-type"]
        _refused(_post(http, base, signer, profile, components=unbound), 401, "signature_invalid")
        # A signature from 1970 that expired then.
        _refused(_post(http, base, signer, profile, params=";created=1;expires=2"), 401)
        _refused(_post(http, base, signer, profile, params=f";created={now + 3600}"), 401)
        assert _post(http, base, signer, profile, params=f";created={now}").status_code == 201
        # A query that is not signed could be changed in flight.
        url = f"{base}/checkout-sessions/cs_missing?debug=1"
        headers = {"UCP-Agent": f'profile="{profile}"'}
        bare = _signed(
            signer.key,
            "k1",
            "GET",
            url,
            b"",
            headers,
            ["@method", "@authority", "@path", "ucp-agent"],
        )
        _refused(http.get(url, headers=bare), 401, "signature_invalid")
        whole = _signed(
            signer.key,
            "k1",
            "GET",
            url,
            b"",
            headers,
            ["@method", "@authority", "@path", "@query", "ucp-agent"],
        )
        _refused(http.get(url, headers=whole), 404, "not_found")  # verified; no such checkout


def test_hostile_signatures_and_profiles_get_a_4xx(
    served: tuple[str, Platform, Database], signer: _Signer
) -> None:
    base, _, _ = served
    deep = b"[" * 50_000 + b"]" * 50_000
    bad_crv = {**signer.jwk, "crv": ["P-256"]}
    cases = {
        "deep": deep,
        "keys5": {"ucp": {"version": UCP_VERSION}, "signing_keys": 5},
        "crvlist": {"ucp": {"version": UCP_VERSION}, "signing_keys": [bad_crv]},
        "deepucp": b'{"ucp": ' + deep + b"}",
    }
    with client(base) as http:
        for name, profile in cases.items():
            answer = _post(http, base, signer, signer.serve(name, profile))
            assert 400 <= answer.status_code < 500, (name, answer.text)
            assert answer.json()["ucp"]["status"] == "error", name
        # A signature that is not base64 at all.
        profile = signer.valid("again")
        url = f"{base}/checkout-sessions"
        body = json.dumps(create_body()).encode()
        headers = _signed(
            signer.key,
            "k1",
            "POST",
            url,
            body,
            {
                "UCP-Agent": f'profile="{profile}"',
                "Idempotency-Key": str(uuid.uuid4()),
                "Content-Type": "application/json",
            },
            [
                "@method",
                "@authority",
                "@path",
                "ucp-agent",
                "idempotency-key",
                "content-digest",
                "content-type",
            ],
        )
        headers["Signature"] = "sig1=:!!not-base64:"
        _refused(http.post(url, content=body, headers=headers), 401, "signature_invalid")
