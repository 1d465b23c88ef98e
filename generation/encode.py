"""H.264/MP4 writing and probing on PyAV (bundled FFmpeg, no ffmpeg binary needed).

:class:`VideoWriter` encodes on a background thread: x264 and the RGB->YUV conversion run
while the caller prepares the next frame, which matters because frame generation and
encoding together compete for very few CPU cores. Output goes to a temporary file that
is renamed into place only when the video is complete, so a crash or exception never
leaves a truncated MP4 where a reader (web server, CDN sync) might pick it up.

With ``audio`` the file also gets an AAC track, interleaved with the video as it is
muxed (so players can stream it from the start). The whole track is encoded up front on
its own thread: AAC is a tenth of the work of the video, but done on the video's thread
it would delay every frame behind it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import struct
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from generation.yuv import Yuv420

__all__ = ["VideoInfo", "VideoWriter", "probe_video"]

_CODEC = "libx264"
_PIX_FMT = "yuv420p"
# Frames buffered between producer and encoder: enough to absorb jitter, small enough
# that at 1080x1920 (6 MB per RGB frame) memory stays modest.
_QUEUE_FRAMES = 6
_STOP = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_AUDIO_CODEC = "aac"
# AAC encodes 1024 samples per frame.
_AUDIO_FRAME = 1024


class VideoWriter:
    """Context manager writing RGB frames to an H.264 (yuv420p) MP4 with faststart.

    ``write`` takes ``uint8`` arrays of shape ``(height, width, 3)`` (RGB), converted to
    YUV 4:2:0 on the writer's thread, or :class:`~generation.yuv.Yuv420` pictures, which
    go to the encoder as they are. Frames are encoded asynchronously, so they must not be
    modified after being written. Writing the very same object repeatedly (a still end
    card) converts it only once.
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: int,
        *,
        crf: int = 20,
        preset: str = "veryfast",
        threads: int | None = None,
        audio: npt.NDArray[np.float32] | None = None,
        sample_rate: int = 48_000,
        audio_bitrate: int = 128_000,
    ) -> None:
        if audio is not None and (audio.ndim != 2 or audio.shape[0] != 2):
            raise ValueError(f"audio must be stereo float32 of shape (2, n), got {audio.shape}")
        if width % 2 or height % 2:
            raise ValueError(f"H.264 yuv420p needs even dimensions, got {width}x{height}")
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, fps
        self.crf, self.preset, self.threads = crf, preset, threads
        self.frames_written = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._tmp_path: Path | None = None
        self._container: Any = None
        self._stream: Any = None
        self.audio = None if audio is None else np.ascontiguousarray(audio, dtype=np.float32)
        self.sample_rate, self.audio_bitrate = sample_rate, audio_bitrate
        self._audio_stream: Any = None
        self._audio_thread: threading.Thread | None = None
        self._audio_packets: queue.Queue[object] = queue.Queue()
        self._audio_pending: Any = None

    def __enter__(self) -> VideoWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Same directory as the target so the final rename is atomic (same filesystem).
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent
        )
        os.close(fd)
        self._tmp_path = Path(tmp)
        try:
            self._container = av.open(
                str(self._tmp_path), mode="w", format="mp4", options={"movflags": "+faststart"}
            )
            stream = self._container.add_stream(_CODEC, rate=self.fps)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, _PIX_FMT
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            if self.threads is not None:
                stream.codec_context.thread_count = self.threads
            self._stream = stream
            if self.audio is not None:
                audio = self._container.add_stream(
                    _AUDIO_CODEC, rate=self.sample_rate, layout="stereo"
                )
                audio.bit_rate = self.audio_bitrate
                # The "fast" coder: under half the CPU of the default two-loop search at
                # the same bit rate, and no audible difference in a music bed and speech.
                audio.codec_context.options = {"aac_coder": "fast"}
                # Opened here, before two threads could race to open it (encoding audio,
                # and the first video packet's mux, which opens every stream).
                audio.codec_context.open()
                self._audio_stream = audio
        except BaseException:
            self._discard()
            raise
        if self._audio_stream is not None:
            self._audio_thread = threading.Thread(
                target=self._encode_audio, name="audio-encoder", daemon=True
            )
            self._audio_thread.start()
        self._thread = threading.Thread(target=self._encode_loop, name="video-writer", daemon=True)
        self._thread.start()
        return self

    def write(self, frame: npt.NDArray[np.uint8] | Yuv420) -> None:
        """Queue one frame (RGB or YUV 4:2:0) for encoding; raises if the encoder has failed."""
        if self._thread is None:
            raise RuntimeError("VideoWriter.write called outside its `with` block")
        if isinstance(frame, Yuv420):
            if (frame.width, frame.height) != (self.width, self.height):
                raise ValueError(
                    f"expected a {self.width}x{self.height} picture, "
                    f"got {frame.width}x{frame.height}"
                )
        elif frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 frame of shape {(self.height, self.width, 3)}, "
                f"got {frame.dtype} {frame.shape}"
            )
        while True:
            if self._error is not None:
                raise RuntimeError("video encoding failed") from self._error
            try:
                self._queue.put(frame, timeout=0.5)
                break
            except queue.Full:
                continue
        self.frames_written += 1

    def _to_yuv(self, rgb: npt.NDArray[np.uint8]) -> av.VideoFrame:
        # One numpy copy straight into the frame's (padded) plane instead of
        # VideoFrame.from_ndarray, which copies twice with the GIL held.
        frame = av.VideoFrame(self.width, self.height, "rgb24")
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(
            self.height, plane.line_size
        )
        np.copyto(rows[:, : self.width * 3].reshape(self.height, self.width, 3), rgb)
        return frame.reformat(format=_PIX_FMT)

    def _encode_audio(self) -> None:
        """Encode the whole track into packets for :meth:`_mux_audio_until`."""
        assert self.audio is not None
        try:
            total = self.audio.shape[1]
            for start in range(0, total, _AUDIO_FRAME):
                chunk = np.ascontiguousarray(self.audio[:, start : start + _AUDIO_FRAME])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate = self.sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, self.sample_rate)
                for packet in self._audio_stream.encode(frame):
                    self._audio_packets.put(packet)
            for packet in self._audio_stream.encode(None):
                self._audio_packets.put(packet)
            self._audio_packets.put(_STOP)
        except BaseException as exc:  # raised on the video thread, which muxes
            self._audio_packets.put(_Failed(exc))

    def _mux_audio_until(self, sample: int | None) -> None:
        """Mux the audio packets that start before ``sample`` (``None``: all of them)."""
        if self._audio_thread is None:
            return
        while True:
            packet = self._audio_pending
            if packet is None:
                packet = self._audio_packets.get()
            if packet is _STOP:
                self._audio_pending = _STOP
                return
            if isinstance(packet, _Failed):
                raise packet.error
            if sample is not None and packet.pts is not None and packet.pts >= sample:
                self._audio_pending = packet
                return
            self._audio_pending = None
            self._container.mux(packet)

    def _encode_loop(self) -> None:
        time_base = Fraction(1, self.fps)
        last_array: object = None
        last_frame: av.VideoFrame | None = None
        pts = 0
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if item is last_array and last_frame is not None:
                    video_frame = last_frame
                elif isinstance(item, Yuv420):
                    video_frame = item.video_frame()
                    last_array, last_frame = item, video_frame
                else:
                    assert isinstance(item, np.ndarray)
                    video_frame = self._to_yuv(item)
                    last_array, last_frame = item, video_frame
                video_frame.pts = pts
                video_frame.time_base = time_base
                pts += 1
                self._container.mux(self._stream.encode(video_frame))
                self._mux_audio_until(pts * self.sample_rate // self.fps)
            self._container.mux(self._stream.encode(None))
            self._mux_audio_until(None)
        except BaseException as exc:  # surfaced to the producer via write()/__exit__
            self._error = exc
            # Keep draining so a producer blocked on a full queue can notice the error.
            while self._queue.get() is not _STOP:
                pass

    def _stop_thread(self) -> None:
        if self._thread is None:
            return
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.5)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._thread = None
        if self._audio_thread is not None:
            self._audio_thread.join()
            self._audio_thread = None

    def _discard(self) -> None:
        if self._container is not None:
            # Already failing: a second error from close() would only mask the first one,
            # and the partial file is deleted below anyway.
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        if self._tmp_path is not None:
            self._tmp_path.unlink(missing_ok=True)
            self._tmp_path = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_thread()
        if exc_type is not None or self._error is not None:
            self._discard()
            if exc_type is None:
                raise RuntimeError("video encoding failed") from self._error
            return
        if self.frames_written == 0:
            self._discard()
            raise ValueError("no frames were written; refusing to create an empty video")
        try:
            # Closing writes the trailer; with faststart it then moves the index (moov)
            # to the front, which only happens here, hence rename strictly afterwards.
            self._container.close()
            self._container = None
        except BaseException:
            self._discard()
            raise
        assert self._tmp_path is not None
        os.replace(self._tmp_path, self.path)
        self._tmp_path = None


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` found in a file."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    faststart: bool
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    audio_duration_s: float | None = None


def _top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level MP4 boxes in file order (reads headers only)."""
    boxes: list[str] = []
    size_on_disk = path.stat().st_size
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= size_on_disk:
            fh.seek(offset)
            header = fh.read(8)
            size, kind = struct.unpack(">I4s", header)
            if size == 1:  # 64-bit "largesize" follows the type
                (size,) = struct.unpack(">Q", fh.read(8))
            elif size == 0:  # box runs to the end of the file
                size = size_on_disk - offset
            if size < 8:
                break  # corrupt; stop rather than loop forever
            boxes.append(kind.decode("latin-1"))
            offset += size
    return boxes


def _is_faststart(path: Path) -> bool:
    boxes = _top_level_boxes(path)
    if "moov" not in boxes or "mdat" not in boxes:
        return False
    return boxes.index("moov") < boxes.index("mdat")


def probe_video(path: Path) -> VideoInfo:
    """Inspect a video file's first video stream.

    ``frame_count`` comes from the container index when present (MP4 always has one)
    and falls back to decoding. ``faststart`` is true when the MP4 index (``moov``)
    precedes the media data (``mdat``), so playback can start before the download ends.
    """
    path = Path(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or 0
        frame_count = stream.frames
        if not frame_count:
            frame_count = sum(1 for _ in container.decode(stream))
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = frame_count / float(rate) if rate else 0.0
        pix_fmt = ctx.pix_fmt or (stream.format.name if stream.format else "")
        audio: dict[str, Any] = {}
        if container.streams.audio:
            a = container.streams.audio[0]
            audio = {
                "audio_codec": a.codec_context.name,
                "audio_sample_rate": a.rate,
                "audio_channels": a.codec_context.channels,
                "audio_duration_s": (
                    float(a.duration * a.time_base)
                    if a.duration is not None and a.time_base is not None
                    else None
                ),
            }
        return VideoInfo(
            codec=ctx.name,
            pix_fmt=pix_fmt,
            width=ctx.width,
            height=ctx.height,
            fps=float(rate),
            frame_count=int(frame_count),
            duration_s=duration,
            faststart=_is_faststart(path),
            **audio,
        )
