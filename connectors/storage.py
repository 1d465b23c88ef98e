"""The media store: product images and published creatives, on any fsspec filesystem."""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path, PurePosixPath

import fsspec
from fsspec.core import url_to_fs

from reelcart.settings import Settings

__all__ = ["MediaStore", "sha256_file"]


def sha256_file(path: Path) -> str:
    """Content hash of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"invalid media key: {key!r}")
    return "/".join(parts)


class MediaStore:
    """Files under one root URL (a local folder by default, ``s3://…`` at scale).

    Keys are relative POSIX paths. ``url_for`` gives the stable public URL the app serves.
    """

    def __init__(self, root_url: str, public_base_url: str) -> None:
        self.fs: fsspec.AbstractFileSystem
        self.fs, root = url_to_fs(root_url)
        self.root = root.rstrip("/")
        self.public_base_url = public_base_url.rstrip("/")
        self.fs.makedirs(self.root, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStore:
        """The media store the settings name, served under the app's public URL."""
        return cls(settings.resolved_media_url, settings.resolved_public_base_url)

    def _path(self, key: str) -> str:
        return posixpath.join(self.root, _safe_key(key))

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def put_file(self, local_path: Path, key: str) -> str:
        """Copy a local file to ``key`` (write to a temp name, then move into place)."""
        target = self._path(key)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        partial = f"{target}.partial"
        self.fs.put_file(str(local_path), partial)
        self.fs.mv(partial, target)
        return key

    def put_content_addressed(self, local_path: Path, prefix: str) -> tuple[str, str]:
        """Store a file once per content hash; returns ``(key, sha256)``."""
        digest = sha256_file(local_path)
        key = f"{prefix}/{digest[:2]}/{digest}{local_path.suffix.lower()}"
        if not self.exists(key):
            self.put_file(local_path, key)
        return key, digest

    def open(self, key: str, mode: str = "rb"):  # type: ignore[no-untyped-def]
        return self.fs.open(self._path(key), mode)

    def local_path(self, key: str) -> Path | None:
        """The file's path when the store is on this machine's disk, else ``None``."""
        if "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        ):
            return Path(self._path(key))
        return None

    def fetch(self, key: str, cache_dir: Path) -> Path:
        """A local copy of ``key``: the file itself on local disk, else a download cached
        under ``cache_dir`` (re-fetched when the stored size differs)."""
        local = self.local_path(key)
        if local is not None:
            return local
        target = Path(cache_dir) / _safe_key(key)
        if target.is_file() and target.stat().st_size == self.size(key):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        self.fs.get_file(self._path(key), str(partial))
        partial.replace(target)
        return target

    def size(self, key: str) -> int:
        return int(self.fs.size(self._path(key)))

    def url_for(self, key: str) -> str:
        """The stable URL at which the app serves ``key``."""
        return f"{self.public_base_url}/media/{_safe_key(key)}"
