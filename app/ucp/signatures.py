"""UCP message signatures: RFC 9421 HTTP Message Signatures, RFC 9530 ``Content-Digest``,
ES256 (P-256) keys as JWK.

The business signs what it sends (order webhooks, responses) with its own key, published in
``signing_keys`` of ``/.well-known/ucp``; a platform's signed request is verified against
the ``signing_keys`` of the platform profile named in ``UCP-Agent``. ECDSA signatures are
the fixed-width ``r||s`` form RFC 9421 requires, not DER.

The key is a PEM file (``REELCART_UCP_SIGNING_KEY_PATH``, default
``<data dir>/ucp/signing_key.pem``), created on first use with owner-only permissions, so
every worker over one data dir signs with the same key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

__all__ = [
    "SignatureError",
    "SigningKey",
    "content_digest",
    "public_jwk",
    "sign_request",
    "sign_response",
    "verify_request",
]

_CURVES: dict[str, tuple[ec.EllipticCurve, hashes.HashAlgorithm, int]] = {
    "P-256": (ec.SECP256R1(), hashes.SHA256(), 32),
    "P-384": (ec.SECP384R1(), hashes.SHA384(), 48),
}


class SignatureError(Exception):
    """A signed message did not verify; ``code`` is the spec's error code."""

    def __init__(self, status: int, code: str, content: str) -> None:
        super().__init__(content)
        self.status = status
        self.code = code
        self.content = content


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def content_digest(body: bytes) -> str:
    """``sha-256=:<base64>:`` over the raw body bytes."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


@dataclass(frozen=True)
class SigningKey:
    """The business's private key and the id it is published under."""

    private: ec.EllipticCurvePrivateKey
    kid: str

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Read the PEM at ``path``, or create a P-256 key there (mode 0600)."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another worker created it first: use theirs
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path} is not a P-256 private key")
        return cls(key, _thumbprint(key.public_key()))

    def jwk(self) -> dict[str, str]:
        return public_jwk(self.private.public_key(), self.kid)

    def sign(self, message: bytes) -> bytes:
        der = self.private.sign(message, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def public_jwk(key: ec.EllipticCurvePublicKey, kid: str) -> dict[str, str]:
    """The public key as the JWK a profile publishes."""
    numbers = key.public_numbers()
    size = (key.curve.key_size + 7) // 8
    return {
        "kid": kid,
        "kty": "EC",
        "crv": "P-256" if key.curve.name == "secp256r1" else "P-384",
        "x": _b64url(numbers.x.to_bytes(size, "big")),
        "y": _b64url(numbers.y.to_bytes(size, "big")),
        "use": "sig",
        "alg": "ES256" if key.curve.name == "secp256r1" else "ES384",
    }


def _thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 thumbprint: a stable key id that changes when the key does."""
    jwk = public_jwk(key, "")
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":")
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())[:16]


def _component_value(
    name: str,
    *,
    method: str | None,
    authority: str,
    path: str,
    query: str,
    status: int | None,
    headers: Mapping[str, str],
) -> str:
    if name == "@method":
        return (method or "").upper()
    if name == "@authority":
        return authority.lower()
    if name == "@path":
        return path
    if name == "@query":
        return "?" + query
    if name == "@status":
        return str(status)
    if name.startswith("@"):
        raise SignatureError(400, "algorithm_unsupported", f"component {name} is not supported")
    value = headers.get(name)
    if value is None:
        raise SignatureError(401, "signature_invalid", f"signed header {name} is missing")
    return value.strip()


def _base(components: Sequence[str], params: str, **message: Any) -> bytes:
    lines = [f'"{c}": {_component_value(c, **message)}' for c in components]
    inner = " ".join(f'"{c}"' for c in components)
    lines.append(f'"@signature-params": ({inner}){params}')
    return "\n".join(lines).encode()


def _sign(
    key: SigningKey, components: list[str], *, label: str = "sig1", **message: Any
) -> dict[str, str]:
    params = f';created={int(time.time())};keyid="{key.kid}"'
    signature = key.sign(_base(components, params, **message))
    inner = " ".join(f'"{c}"' for c in components)
    return {
        "Signature-Input": f"{label}=({inner}){params}",
        "Signature": f"{label}=:{base64.b64encode(signature).decode()}:",
    }


def sign_request(
    key: SigningKey,
    method: str,
    url_authority: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    query: str = "",
) -> dict[str, str]:
    """Headers to add to an outgoing request (``headers`` are those already set)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    components = ["@method", "@authority", "@path"] + (["@query"] if query else [])
    for name in ("ucp-agent", "idempotency-key"):
        if name in lowered:
            components.append(name)
    added: dict[str, str] = {}
    if body:
        added["Content-Digest"] = lowered["content-digest"] = content_digest(body)
        components += ["content-digest", "content-type"]
    added.update(
        _sign(
            key,
            components,
            method=method,
            authority=url_authority,
            path=path,
            query=query,
            status=None,
            headers=lowered,
        )
    )
    return added


def sign_response(key: SigningKey, status: int, body: bytes, content_type: str) -> dict[str, str]:
    """``Content-Digest``, ``Signature-Input`` and ``Signature`` for a response."""
    digest = content_digest(body)
    headers = {"content-digest": digest, "content-type": content_type}
    signed = _sign(
        key,
        ["@status", "content-digest", "content-type"],
        method=None,
        authority="",
        path="",
        query="",
        status=status,
        headers=headers,
    )
    return {"Content-Digest": digest, **signed}


STATE_CHANGING = frozenset({"POST", "PUT", "DELETE", "PATCH"})
# Clocks disagree by this much at most; a signature says when it was made (``created``,
# optional in UCP) no longer ago than MAX_AGE_S, and is not used past its ``expires``.
CLOCK_SKEW_S = 60
MAX_AGE_S = 300


def _check_window(params: str, *, now: float) -> None:
    """``created``/``expires`` (when present) must put the signature in its time window."""
    times: dict[str, int] = {}
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip() in ("created", "expires"):
            if not value.strip().isdigit():
                raise SignatureError(401, "signature_invalid", f"{name.strip()} is not a time")
            times[name.strip()] = int(value.strip())
    created, expires = times.get("created"), times.get("expires")
    if created is not None and created > now + CLOCK_SKEW_S:
        raise SignatureError(401, "signature_invalid", "the signature was created in the future")
    if created is not None and created < now - MAX_AGE_S - CLOCK_SKEW_S:
        raise SignatureError(401, "signature_invalid", "the signature is too old")
    if expires is not None and expires < now - CLOCK_SKEW_S:
        raise SignatureError(401, "signature_invalid", "the signature has expired")


def _parse_input(header: str) -> tuple[str, list[str], str, str]:
    """``label=("a" "b");created=…;keyid="k"`` → label, components, params, keyid."""
    label, sep, rest = header.partition("=")
    if not sep or not rest.startswith("(") or ")" not in rest:
        raise SignatureError(401, "signature_invalid", "Signature-Input is malformed")
    inner, _, params = rest[1:].partition(")")
    components = [c.strip('"') for c in inner.split()]
    keyid = ""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip() == "keyid":
            keyid = value.strip().strip('"')
        elif name.strip() == "alg":
            raise SignatureError(400, "algorithm_unsupported", "alg is not sent in UCP")
    if not keyid:
        raise SignatureError(401, "signature_invalid", "Signature-Input has no keyid")
    return label.strip(), components, params, keyid


def _signature_for(header: str, label: str) -> bytes:
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        if name == label and value.startswith(":") and value.endswith(":"):
            try:
                return base64.b64decode(value[1:-1], validate=True)
            except ValueError:  # binascii.Error: not base64 at all
                raise SignatureError(
                    401, "signature_invalid", "the signature is not base64"
                ) from None
    raise SignatureError(401, "signature_invalid", f"no signature labelled {label}")


def _public_key(
    jwk: Mapping[str, Any],
) -> tuple[ec.EllipticCurvePublicKey, hashes.HashAlgorithm, int]:
    crv = jwk.get("crv")
    if jwk.get("kty") != "EC" or not isinstance(crv, str) or crv not in _CURVES:
        raise SignatureError(400, "algorithm_unsupported", "only EC P-256/P-384 keys are accepted")
    curve, digest, size = _CURVES[crv]
    try:
        x = int.from_bytes(_b64url_decode(str(jwk["x"])), "big")
        y = int.from_bytes(_b64url_decode(str(jwk["y"])), "big")
        return ec.EllipticCurvePublicNumbers(x, y, curve).public_key(), digest, size
    except (KeyError, ValueError, TypeError) as exc:
        raise SignatureError(401, "key_not_found", f"the signing key is unusable: {exc}") from None


def verify_request(
    *,
    method: str,
    authority: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Sequence[Mapping[str, Any]],
    now: float | None = None,
) -> str:
    """Verify a signed request against ``keys`` (the signer's ``signing_keys``); its kid."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "signature-input" not in lowered or "signature" not in lowered:
        raise SignatureError(401, "signature_missing", "Signature and Signature-Input required")
    label, components, params, keyid = _parse_input(lowered["signature-input"])
    _check_window(params, now=time.time() if now is None else now)
    # The components signatures.md requires: a replayed signature cannot move to another
    # method, host, path, query or platform, nor repeat a state change under a new key.
    required = {"@method", "@authority", "@path"}
    if query:
        required.add("@query")
    if "ucp-agent" in lowered:
        required.add("ucp-agent")
    if method.upper() in STATE_CHANGING:
        required.add("idempotency-key")
    if body:
        required |= {"content-digest", "content-type"}
        if lowered.get("content-digest", "").strip() != content_digest(body):
            raise SignatureError(400, "digest_mismatch", "Content-Digest does not match the body")
    if missing := required - set(components):
        raise SignatureError(401, "signature_invalid", f"unsigned components: {sorted(missing)}")
    jwk = next((k for k in keys if k.get("kid") == keyid), None)
    if jwk is None:
        raise SignatureError(401, "key_not_found", f"key {keyid!r} is not in signing_keys")
    public, digest, size = _public_key(jwk)
    raw = _signature_for(lowered["signature"], label)
    if len(raw) != 2 * size:
        raise SignatureError(401, "signature_invalid", "the signature is not r||s of the curve")
    der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    message = _base(
        components,
        params,
        method=method,
        authority=authority,
        path=path,
        query=query,
        status=None,
        headers=lowered,
    )
    try:
        public.verify(der, message, ec.ECDSA(digest))
    except InvalidSignature:
        raise SignatureError(
            401, "signature_invalid", f"signature verification failed for key kid={keyid}"
        ) from None
    return keyid
