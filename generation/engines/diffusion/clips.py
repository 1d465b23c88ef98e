"""The diffusion engine's in-memory footage: generated clips (and their sound) by key.

Least recently used clips go first once the byte budget is spent, their sound with them;
the newest clip is kept even when it alone is over the budget. Thread-safe, and never
waits for a generation: only the dictionary is locked.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["ClipCache"]

Key = TypeVar("Key", bound=Hashable)
Sound = TypeVar("Sound")
_Clip = npt.NDArray[np.uint8]


class ClipCache(Generic[Key, Sound]):
    """uint8 clips by key within ``budget_bytes``, with the sound generated alongside."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._clips: OrderedDict[Key, _Clip] = OrderedDict()
        self._sounds: dict[Key, Sound] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Key) -> _Clip | None:
        with self._lock:
            clip = self._clips.get(key)
            if clip is not None:
                self._clips.move_to_end(key)
            return clip

    def sound(self, key: Key) -> Sound | None:
        with self._lock:
            return self._sounds.get(key)

    def put(self, key: Key, clip: _Clip, sound: Sound | None = None) -> None:
        with self._lock:
            if key in self._clips:
                return
            self._clips[key] = clip
            if sound is not None:
                self._sounds[key] = sound
            self._bytes += clip.nbytes
            while self._bytes > self.budget_bytes and len(self._clips) > 1:
                gone, old = self._clips.popitem(last=False)
                self._bytes -= old.nbytes
                self._sounds.pop(gone, None)

    def clear(self) -> None:
        with self._lock:
            self._clips.clear()
            self._sounds.clear()
            self._bytes = 0
