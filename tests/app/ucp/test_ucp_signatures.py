"""RFC 9421 signatures as another implementation would check them: the signature base built
here by hand from the RFC's rules, the ES256 signature as raw r||s, the digest per RFC
9530; and the ``UCP-Agent`` header's two spellings."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app.ucp.envelope import parse_agent
from app.ucp.signatures import (
    SignatureError,
    SigningKey,
    sign_request,
    sign_response,
    verify_request,
)


def _public(jwk: dict[str, str]) -> ec.EllipticCurvePublicKey:
    def number(text: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

    return ec.EllipticCurvePublicNumbers(
        number(jwk["x"]), number(jwk["y"]), ec.SECP256R1()
    ).public_key()


def _raw_verify(jwk: dict[str, str], signature_header: str, base: str) -> None:
    raw = base64.b64decode(signature_header.split("=:", 1)[1].rstrip(":"))
    assert len(raw) == 64  # r||s, 32 bytes each: not DER
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    _public(jwk).verify(der, base.encode(), ec.ECDSA(hashes.SHA256()))


def test_request_signature_base_as_rfc_9421_builds_it(tmp_path: Path) -> None:
    key = SigningKey.load_or_create(tmp_path / "key.pem")
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    assert SigningKey.load_or_create(tmp_path / "key.pem").kid == key.kid  # the same key again
    body = json.dumps({"order": 1}).encode()
    headers = {
        "Content-Type": "application/json",
        "UCP-Agent": 'profile="https://shop.example/.well-known/ucp"',
        "Idempotency-Key": "k-1",
    }
    signed = sign_request(key, "POST", "platform.example:8443", "/webhooks/orders", body, headers)
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    assert signed["Content-Digest"] == digest
    label, _, rest = signed["Signature-Input"].partition("=")
    assert label == "sig1"
    params = rest  # ("…" …);created=…;keyid="…"
    assert params.startswith(
        '("@method" "@authority" "@path" "ucp-agent" "idempotency-key" "content-digest" '
        '"content-type");created='
    )
    assert params.endswith(f';keyid="{key.kid}"')
    base = "\n".join(
        [
            '"@method": POST',
            '"@authority": platform.example:8443',
            '"@path": /webhooks/orders',
            '"ucp-agent": profile="https://shop.example/.well-known/ucp"',
            '"idempotency-key": k-1',
            f'"content-digest": {digest}',
            '"content-type": application/json',
            f'"@signature-params": {params}',
        ]
    )
    _raw_verify(key.jwk(), signed["Signature"], base)
    # And the verifier accepts it, with the headers as a receiver sees them.
    received = {**headers, **signed, "Host": "platform.example:8443"}
    assert (
        verify_request(
            method="POST",
            authority="platform.example:8443",
            path="/webhooks/orders",
            query="",
            headers=received,
            body=body,
            keys=[key.jwk()],
        )
        == key.kid
    )
    with pytest.raises(SignatureError) as moved:
        verify_request(
            method="POST",
            authority="platform.example:8443",
            path="/webhooks/other",
            query="",
            headers=received,
            body=body,
            keys=[key.jwk()],
        )
    assert moved.value.code == "signature_invalid"


def test_response_signature_covers_status_and_body(tmp_path: Path) -> None:
    key = SigningKey.load_or_create(tmp_path / "key.pem")
    body = b'{"id":"cs_1"}'
    signed = sign_response(key, 201, body, "application/json")
    params = signed["Signature-Input"].partition("=")[2]
    base = "\n".join(
        [
            '"@status": 201',
            f'"content-digest": {signed["Content-Digest"]}',
            '"content-type": application/json',
            f'"@signature-params": {params}',
        ]
    )
    _raw_verify(key.jwk(), signed["Signature"], base)


@pytest.mark.parametrize(
    ("header", "profile", "version"),
    [
        ('profile="https://p.example/profile.json"', "https://p.example/profile.json", None),
        (
            'profile="https://p.example/a,b;c"; version="2026-04-08"',
            "https://p.example/a,b;c",
            "2026-04-08",
        ),
        (
            'version="2026-04-08", profile="https://p.example/x"',
            "https://p.example/x",
            "2026-04-08",
        ),
        (None, None, None),
    ],
)
def test_ucp_agent_header(header: str | None, profile: str | None, version: str | None) -> None:
    agent = parse_agent(header)
    assert (agent.profile, agent.version) == (profile, version)
