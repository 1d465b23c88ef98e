"""The o200k tokenizer, offline: tiktoken with the vocabulary file a package ships.

tiktoken downloads ``o200k_base.tiktoken`` on first use; the machines here reach no such
host. ``bpe-openai`` ships the same file (compressed). It is put where tiktoken's cache
looks for it, and tiktoken checks it against the SHA-256 it pins for o200k_base before
using it, so the count is tiktoken's own.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import cache
from importlib.resources import files
from pathlib import Path

import tiktoken
from tiktoken.load import read_file_cached  # noqa: F401  (the cache this fills)

__all__ = ["o200k"]

_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


@cache
def o200k() -> tiktoken.Encoding:
    cache_dir = Path(
        os.environ.setdefault(
            "TIKTOKEN_CACHE_DIR", str(Path.home() / ".cache" / "tiktoken-reelcart")
        )
    )
    cached = cache_dir / hashlib.sha1(_URL.encode()).hexdigest()
    if not cached.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        data = files("bpe_openai.data").joinpath("o200k_base.tiktoken.gz").read_bytes()
        tmp = cached.with_suffix(".tmp")
        tmp.write_bytes(gzip.decompress(data))
        tmp.replace(cached)
    return tiktoken.get_encoding("o200k_base")
