"""A shot's generated sound kept in its footage mezzanine, bit for bit.

Footage made with its own sound (LTX-2) keeps that sound as a second stream of the
mezzanine MP4: 32-bit float PCM (``pcm_f32le``, the ``fpcm`` sample entry of ISO/IEC
23003-5) at the model's own rate, every sample as the model produced it. In the file
rather than beside it because the mezzanine is what travels: the footage cache's entry,
the copy :func:`flows.remix.publish_footage` puts in the media store and the one a remix
fetches are one file each, so picture and sound can never be separated or half-written.
Float PCM rather than FLAC because FLAC stores integers: a float32 vocoder output (which
may exceed full scale) would not come back exactly. PCM has no encoder delay and no
priming, so sample 0 of the stream is sample 0 of the clip.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

__all__ = ["StoredSound", "add_sound", "read_sound"]

_CODEC = "pcm_f32le"
_LAYOUTS = {1: "mono", 2: "stereo"}


@dataclass(frozen=True)
class StoredSound:
    """One shot's sound: ``(channels, samples)`` float32 at ``rate`` Hz."""

    samples: npt.NDArray[np.float32]
    rate: int


def add_sound(path: Path, samples: npt.NDArray[np.floating], rate: int) -> None:
    """Give the video-only MP4 at ``path`` the sound ``samples`` (``(channels, n)``) as a
    lossless stream; the video packets are copied as they are. Atomic: the file is
    replaced only once the new one is whole."""
    audio = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    layout = _LAYOUTS.get(audio.shape[0])
    if layout is None or audio.shape[1] == 0:
        raise ValueError(f"sound must be mono or stereo samples, got shape {audio.shape}")
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with (
            av.open(str(path)) as src,
            av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst,
        ):
            video_in = src.streams.video[0]
            video_out = dst.add_stream_from_template(video_in)
            sound = dst.add_stream(_CODEC, rate=int(rate), layout=layout)
            assert isinstance(sound, av.AudioStream)
            for packet in src.demux(video_in):
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                packet.stream = video_out
                dst.mux(packet)
            # Interleaved float samples, one frame: PCM packs them as they are.
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio.T).reshape(1, -1), format="flt", layout=layout
            )
            frame.sample_rate, frame.pts = int(rate), 0
            dst.mux(sound.encode(frame))
            dst.mux(sound.encode(None))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_sound(path: Path) -> StoredSound | None:
    """The sound stored in the mezzanine at ``path``; ``None`` when it has none."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        pieces = [_planar(frame, channels) for frame in container.decode(stream)]
    samples = np.concatenate(pieces, axis=1) if pieces else np.zeros((channels, 0))
    return StoredSound(np.ascontiguousarray(samples, dtype=np.float32), int(stream.rate))


def _planar(frame: av.AudioFrame, channels: int) -> npt.NDArray[np.float32]:
    data = np.asarray(frame.to_ndarray(), dtype=np.float32)
    return data if frame.format.is_planar else data.reshape(-1, channels).T
