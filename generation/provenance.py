"""C2PA Content Credentials: every MP4 says it was AI-generated, by what, from what.

Signing uses ``c2pa-python`` with a certificate chain (leaf first, then the CA) and its
EC P-256 private key, both PEM files named in settings. Without them creatives stay
unsigned: a missing credential is reported, never faked.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa

__all__ = [
    "AI_SOURCE_TYPES",
    "SigningConfig",
    "c2pa_manifest",
    "read_credentials",
    "sign_video",
]

_log = logging.getLogger(__name__)

# IPTC digital source types: diffusion footage is trained-model output; the CPU motion
# engine animates real product photos, a synthetic composite of captured images.
_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AI_SOURCE_TYPES = {
    "diffusion": _IPTC + "trainedAlgorithmicMedia",
    "motion": _IPTC + "compositeSynthetic",
}
_ASSERTION = "com.reelcart.creative"


@dataclass(frozen=True)
class SigningConfig:
    """Where the signing material lives; ``alg`` must match the key (es256: P-256)."""

    cert_chain_path: Path
    private_key_path: Path
    alg: str = "es256"
    timestamp_url: str | None = None


def c2pa_manifest(title: str, creative: dict[str, Any], generator: str) -> dict[str, Any]:
    """The C2PA manifest definition: a ``created`` action with its AI source type, and
    the creative's own description (factors, seed, engine, shots, product version)."""
    engine = str(creative.get("engine", ""))
    return {
        "claim_generator_info": [{"name": "reelcart", "version": generator}],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": AI_SOURCE_TYPES.get(
                                engine, _IPTC + "trainedAlgorithmicMedia"
                            ),
                            "softwareAgent": {"name": f"reelcart {engine} engine"},
                            "description": "AI-generated product video ad",
                        }
                    ]
                },
            },
            {"label": _ASSERTION, "data": json.loads(json.dumps(creative, default=str))},
        ],
    }


def sign_video(
    path: Path, config: SigningConfig, title: str, creative: dict[str, Any], generator: str
) -> None:
    """Embed signed Content Credentials into the MP4 at ``path`` (replaced atomically)."""
    signer_info = c2pa.C2paSignerInfo(
        alg=config.alg.encode(),
        sign_cert=Path(config.cert_chain_path).read_bytes(),
        private_key=Path(config.private_key_path).read_bytes(),
        ta_url=config.timestamp_url.encode() if config.timestamp_url else None,
    )
    manifest = json.dumps(c2pa_manifest(title, creative, generator))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".c2pa", dir=path.parent)
    os.close(fd)
    try:
        with (
            c2pa.Signer.from_info(signer_info) as signer,
            c2pa.Builder(manifest) as builder,
            open(path, "rb") as source,
            open(tmp, "w+b") as dest,
        ):
            builder.sign(signer, "video/mp4", source, dest)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_credentials(path: Path) -> dict[str, Any] | None:
    """The active C2PA manifest of ``path`` plus its validation state, or ``None``."""
    try:
        with c2pa.Reader(str(path)) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
    except c2pa.C2paError as exc:
        _log.debug("no content credentials in %s: %s", path, exc)
        return None
    active = store["manifests"][store["active_manifest"]]
    return {
        "manifest": active,
        "validation_state": str(state),
        "validation_status": store.get("validation_status", []),
    }
