"""VideoWriter output format, atomic writes, and probe_video."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from generation.encode import VideoWriter, probe_video

WIDTH, HEIGHT, FPS = 144, 256, 12


def _gradient(shift: int) -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    frame[..., 0] = (x * 255 // WIDTH + shift) % 256
    frame[..., 1] = y * 255 // HEIGHT
    frame[..., 2] = 128
    return frame


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_writes_h264_yuv420p_faststart_with_exact_frames(tmp_path: Path) -> None:
    path = tmp_path / "out" / "clip.mp4"
    with VideoWriter(path, WIDTH, HEIGHT, FPS) as writer:
        for i in range(17):
            writer.write(_gradient(i * 9))
    info = probe_video(path)
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", 144, 256)
    assert info.fps == FPS
    assert info.frame_count == 17 == len(_decode(path))
    assert info.duration_s == pytest.approx(17 / FPS, abs=1e-3)
    assert info.faststart
    assert sorted(p.name for p in path.parent.iterdir()) == ["clip.mp4"]  # no temp files


def test_colours_survive_the_round_trip(tmp_path: Path) -> None:
    """Catches RGB/BGR mix-ups and wrong colour conversion, not just "some video"."""
    path = tmp_path / "red.mp4"
    red = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    red[..., 0] = 220
    with VideoWriter(path, WIDTH, HEIGHT, FPS) as writer:
        for _ in range(3):
            writer.write(red)  # the same array again: converted once, encoded thrice
    frames = _decode(path)
    assert len(frames) == 3
    r, g, b = frames[-1].reshape(-1, 3).mean(axis=0)
    assert r > 190 and g < 30 and b < 30


def test_exception_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"previous good render")
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(path, WIDTH, HEIGHT, FPS) as w:
        for i in range(5):
            w.write(_gradient(i))
        raise RuntimeError("boom")
    assert path.read_bytes() == b"previous good render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]

    fresh = tmp_path / "fresh.mp4"
    with pytest.raises(KeyboardInterrupt), VideoWriter(fresh, WIDTH, HEIGHT, FPS) as w:
        w.write(_gradient(0))
        raise KeyboardInterrupt
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_rejects_empty_video_bad_frames_and_odd_sizes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with pytest.raises(ValueError, match="no frames"), VideoWriter(path, WIDTH, HEIGHT, FPS):
        pass
    assert not path.exists()

    bad = np.zeros((HEIGHT, WIDTH + 2, 3), np.uint8)
    with (
        pytest.raises(ValueError, match="expected uint8"),
        VideoWriter(path, WIDTH, HEIGHT, FPS) as w,
    ):
        w.write(bad)
    assert not path.exists()

    with pytest.raises(ValueError, match="even dimensions"):
        VideoWriter(path, 145, HEIGHT, FPS)
    assert list(tmp_path.iterdir()) == []


def test_probe_detects_files_without_faststart(tmp_path: Path) -> None:
    """A plain MP4 (index at the end) must not be reported as faststart."""
    path = tmp_path / "plain.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(_gradient(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe_video(path)
    assert info.frame_count == 4
    assert not info.faststart


def test_audio_encoded_ahead_is_whole_and_interleaved_with_the_video(tmp_path: Path) -> None:
    rate, seconds = 48_000, 3
    t = np.arange(rate * seconds) / rate
    tone = (0.25 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / "av.mp4"
    with VideoWriter(path, WIDTH, HEIGHT, FPS, audio=np.stack([tone, tone])) as writer:
        for i in range(FPS * seconds):
            writer.write(_gradient(i))
    kinds = []
    samples = []
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                kinds.append(packet.stream.type)
        container.seek(0)
        for frame in container.decode(audio=0):
            samples.append(frame.to_ndarray()[0])
    # Interleaved: audio spread through the file, not appended after the video.
    video_at = [i for i, kind in enumerate(kinds) if kind == "video"]
    audio_at = [i for i, kind in enumerate(kinds) if kind == "audio"]
    assert len(video_at) == FPS * seconds
    assert sum(a < video_at[len(video_at) // 2] for a in audio_at) > len(audio_at) // 3
    # The whole tone: its length, level and pitch, as numpy measures them.
    decoded = np.concatenate(samples)
    assert abs(len(decoded) - len(tone)) <= 2048
    body = decoded[rate // 4 : -rate // 4]
    assert np.sqrt(np.mean(body**2)) == pytest.approx(0.25 / np.sqrt(2), rel=0.05)
    spectrum = np.abs(np.fft.rfft(body))
    assert np.fft.rfftfreq(len(body), 1 / rate)[np.argmax(spectrum)] == pytest.approx(440, abs=2)
