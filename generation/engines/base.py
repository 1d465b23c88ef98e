"""The seam between "where footage comes from" and everything after it.

A footage engine turns one :class:`~generation.spec.ShotSpec` into raw RGB frames. The
renderer does not care whether those come from camera moves over a still photo (the CPU
``motion`` engine) or from a diffusion model on a GPU; both plug in here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from generation.spec import ShotSpec

__all__ = ["FootageEngine", "Frame"]

Frame = npt.NDArray[np.uint8]
"""One video frame: a C-contiguous ``uint8`` array of shape ``(height, width, 3)``, RGB."""


@runtime_checkable
class FootageEngine(Protocol):
    """Produces the frames of one shot.

    Contract: ``frames`` yields exactly ``generation.spec.frames_for(shot.duration_s, fps)``
    frames, each a :data:`Frame` of the requested size, and is deterministic for a given
    shot, size and fps (same inputs, same pixels), so footage can be cached by
    :meth:`ShotSpec.key`. Frames may be read-only, and an engine may reuse a frame's
    buffer once the next frame is requested: consumers copy what they keep.
    """

    name: str

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[Frame]:
        """Yield the shot's frames in order."""
        ...
