"""Artifacts as the tests read them back from the Prefect API."""

from __future__ import annotations

import json
from typing import Any

from prefect.artifacts import Artifact
from prefect.client.schemas.objects import Artifact as ArtifactRecord

__all__ = ["artifact", "artifact_rows"]


def artifact(key: str) -> ArtifactRecord:
    """The latest artifact called ``key`` (the test fails if there is none)."""
    found = Artifact.get(key)
    assert isinstance(found, ArtifactRecord), f"no artifact {key!r}"
    return found


def artifact_rows(key: str) -> list[dict[str, Any]]:
    """The rows of the table artifact ``key``."""
    rows: list[dict[str, Any]] = json.loads(str(artifact(key).data))
    return rows
