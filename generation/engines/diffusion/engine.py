"""GPU footage engine: product image-to-video with diffusers (LTX-Video, Wan).

Throughput by design:
- the pipeline is loaded once per engine, and the registry keeps one warm engine per
  worker process, so a whole campaign pays for one load;
- prompt embeddings are computed once per distinct prompt (and once for the negative),
  all of a :meth:`DiffusionEngine.prepare` before its first batch, in one visit of the
  text encoder to the GPU: between encodings a resident plan parks it on the host;
- :meth:`DiffusionEngine.prepare` generates every not-yet-cached shot of a campaign in
  shape-grouped batches, one ``torch.Generator`` per shot, so later :meth:`frames` calls
  are cache hits; the renderer (compose + encode) then runs while the next batch
  generates (see ``flows/generate.py``);
- frames are resized to the render size and become uint8 on the device, and cross to
  the host once per batch.

Reproducible: noise comes from CPU generators seeded by ``shot.seed``, so a shot's noise is
the same on any device and in any batch; the same shot and seed give the same frames on
the same device (batch composition may move GPU kernels by a rounding step).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from generation.engines.base import Frame
from generation.engines.diffusion.devices import (
    DevicePlan,
    Placement,
    synchronize,
    text_encoder_on_device,
)
from generation.engines.diffusion.presets import ModelPreset, get_preset
from generation.spec import ShotSpec

from .calls import remix_inputs, run_call
from .clips import ClipCache
from .frames import NativeShape, native_shape, resample
from .inputs import MOTION_PROMPTS, StageTimes, fit_image, load_image, prompt_for
from .load import Loaded, Loader, load_pipeline, load_planned
from .pipes import PromptEmbeds, encode_prompt, remix_pipeline, stack_embeds
from .sound import ClipAudio
from .speed import SpeedOptions, check_speed_options, release

__all__ = [
    "MOTION_PROMPTS",
    "ClipAudio",
    "DiffusionEngine",
    "StageTimes",
    "load_pipeline",
    "prompt_for",
]

log = logging.getLogger(__name__)

_Clip = npt.NDArray[np.uint8]
# (shot digest, native generation shape, output size)
_Key = tuple[str, NativeShape, tuple[int, int]]


class DiffusionEngine:
    """Footage engine generating each shot with an image-to-video diffusion model.

    Locking: one batch at a time holds the generation lock (and the GPU ``slot``), so a
    render asking for a cached clip never waits for a generation, and a long
    :meth:`prepare` lets other callers in between its batches.
    """

    name = "diffusion"

    def __init__(
        self,
        preset: str | ModelPreset,
        *,
        model_dir: Path | None = None,
        device: str | None = None,
        compile_blocks: bool = False,
        attention_backend: str | None = None,
        first_block_cache: float | None = None,
        compile_backend: str = "inductor",
        placement: Placement | None = None,
        cache_bytes: int = 4 << 30,
        loader: Loader = load_pipeline,
        slot: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.preset = get_preset(preset) if isinstance(preset, str) else preset
        self.model_dir = Path(model_dir) if model_dir else None
        self._device_name = device
        self._placement = placement
        self.options = SpeedOptions(
            compile_blocks, attention_backend, first_block_cache, compile_backend
        )
        check_speed_options(self.options)
        self._loader = loader
        # Held around every GPU use (load, text encoding, each batch); a flow may set it
        # to a cross-process GPU slot.
        self.slot = slot or nullcontext
        self.times = StageTimes()
        self._loaded: Loaded | None = None
        self._remix_pipe: Any = None
        self._embeds: dict[str, PromptEmbeds] = {}
        # Footage, and the sound a preset generates with it (LTX-2), by the same keys.
        self._clips: ClipCache[_Key, ClipAudio] = ClipCache(cache_bytes)
        self._state_lock = threading.RLock()  # loading, embeddings
        self._generate_lock = threading.Lock()  # one batch at a time

    @property
    def fingerprint(self) -> str:
        """Model identity for render hashes: preset, weights source, pipeline and steps."""
        source = str(self.model_dir) if self.model_dir else self.preset.model_id
        return f"{self.preset.name}|{source}|{self.preset.i2v_pipeline}|steps={self.preset.steps}"

    @property
    def plan(self) -> DevicePlan | None:
        return self._loaded.plan if self._loaded else None

    # -- loading ---------------------------------------------------------------------
    def _load(self) -> Any:
        """The warm pipeline; the caller holds the slot when it may load."""
        with self._state_lock:
            if self._loaded is None:
                started = time.perf_counter()
                loaded = load_planned(
                    self.preset,
                    model_dir=self.model_dir,
                    device=self._device_name,
                    loader=self._loader,
                    options=self.options,
                    placement=self._placement,
                )
                self.times.applied = loaded.applied.names
                self.times.loads += 1
                self.times.load_s += time.perf_counter() - started
                self._loaded = loaded
            return self._loaded.pipe

    def pipeline(self) -> Any:
        """The warm pipeline, loaded (and placed) on first use, under the GPU slot."""
        if self._loaded is not None:
            return self._loaded.pipe
        with self.slot():
            return self._load()

    def close(self) -> None:
        """Drop the pipeline and caches; undo what the speed options set process-wide."""
        with self._generate_lock, self._state_lock:
            if self._loaded is not None:
                release(self._loaded.applied)
                device = self._loaded.plan.device
                self._loaded = None
                self._remix_pipe = None
                self._embeds.clear()
                if device.type == "cuda":
                    torch.cuda.empty_cache()
        self._clips.clear()

    # -- prompts ---------------------------------------------------------------------
    def _encode(self, texts: Iterable[str]) -> None:
        """Encode every not-yet-cached text in one visit of the text encoder to the
        device; the caller holds the slot."""
        with self._state_lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._embeds]
            if not missing:
                return
            pipe = self._load()
            assert self.plan is not None
            started = time.perf_counter()
            with text_encoder_on_device(pipe, self.plan), torch.inference_mode():
                for text in missing:
                    self._embeds[text] = encode_prompt(pipe, self.preset, text)
                synchronize(self.plan.device)
            self.times.text_s += time.perf_counter() - started
            self.times.prompts_encoded += len(missing)

    def _texts(self, prompts: Iterable[str]) -> list[str]:
        """The prompts and, when guidance is on, the negative prompt."""
        texts = list(prompts)
        if self.preset.guidance > 1.0:
            texts.append(self.preset.negative_prompt)
        return texts

    def _embedding(self, text: str) -> PromptEmbeds:
        """Text embeddings of ``text``, computed once; the caller holds the slot."""
        self._encode([text])
        return self._embeds[text]

    def embeddings(self, text: str) -> PromptEmbeds:
        """Text embeddings of ``text``, computed once (under the slot) and reused."""
        cached = self._embeds.get(text)
        if cached is not None:
            return cached
        with self.slot():
            return self._embedding(text)

    def _guidance_kwargs(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        self._encode(self._texts(prompts))
        positives = [self._embedding(p) for p in prompts]
        negative = (
            self._embedding(self.preset.negative_prompt) if self.preset.guidance > 1.0 else None
        )
        return stack_embeds(positives, negative)

    # -- generation ------------------------------------------------------------------
    def _batch(self, shots: Sequence[ShotSpec], keys: Sequence[_Key]) -> int:
        """Generate the still-missing ``shots`` (one shape, one batch); returns how many."""
        with self._generate_lock:
            todo = [(s, k) for s, k in zip(shots, keys, strict=True) if self._clips.get(k) is None]
            if not todo:
                return 0
            native, size = todo[0][1][1], todo[0][1][2]
            size_wh = (native.width, native.height)
            images = [fit_image(load_image(s.image_path), *size_wh) for s, _ in todo]
            if not self.preset.batch_distinct_images:
                images = images[:1]  # the caller grouped shots of one photo
            seeds = [s.seed for s, _ in todo]
            with self.slot(), torch.inference_mode():
                pipe = self._load()
                embeds = self._guidance_kwargs([prompt_for(s) for s, _ in todo])
                clips, sounds = self._run(pipe, native, size, embeds, seeds, images, None, None)
            for index, (_, key) in enumerate(todo):
                self._clips.put(key, clips[index], sounds[index] if sounds else None)
            self.times.clips += len(todo)
            return len(todo)

    def _run(
        self,
        pipe: Any,
        native: NativeShape,
        size: tuple[int, int],
        embeds: dict[str, torch.Tensor],
        seeds: Sequence[int],
        images: Sequence[Image.Image] | None,
        video: Sequence[Image.Image] | None,
        strength: float | None,
    ) -> tuple[list[_Clip], list[ClipAudio] | None]:
        assert self._loaded is not None
        return run_call(
            pipe, self.preset, self._loaded, self.times, native, size, embeds, seeds, images,
            video, strength,
        )  # fmt: skip

    def _key(self, shot: ShotSpec, width: int, height: int) -> _Key:
        return (
            shot.key(),
            native_shape(self.preset, width, height, shot.duration_s),
            (width, height),
        )

    def _groups(
        self, todo: list[tuple[ShotSpec, _Key]]
    ) -> Iterator[tuple[list[ShotSpec], list[_Key]]]:
        """Batches of shots sharing a native shape (and a photo, if the model needs it)."""
        buckets: dict[tuple[Any, ...], list[tuple[ShotSpec, _Key]]] = {}
        for shot, key in todo:
            group: tuple[Any, ...] = key[1:]
            if not self.preset.batch_distinct_images:
                group += (str(Path(shot.image_path).resolve()),)
            buckets.setdefault(group, []).append((shot, key))
        size = self.plan.batch if self.plan is not None else 1
        for members in buckets.values():
            for i in range(0, len(members), size):
                chunk = members[i : i + size]
                yield [s for s, _ in chunk], [k for _, k in chunk]

    def prepare(self, shots: Iterable[ShotSpec], width: int, height: int, fps: int) -> int:
        """Generate every not-yet-cached shot at ``width x height`` in batches.

        Returns how many clips were generated. ``fps`` is accepted for symmetry with
        :meth:`frames`: footage does not depend on it (frames are picked by timestamp).
        """
        del fps
        self.pipeline()
        todo: list[tuple[ShotSpec, _Key]] = []
        seen: set[_Key] = set()
        for shot in shots:
            key = self._key(shot, width, height)
            if key in seen or self._clips.get(key) is not None:
                continue
            seen.add(key)
            todo.append((shot, key))
        if todo:
            with self.slot():
                self._encode(self._texts(prompt_for(shot) for shot, _ in todo))
        return sum(self._batch(group, keys) for group, keys in self._groups(todo))

    def prepare_async(
        self, shots: Iterable[ShotSpec], width: int, height: int, fps: int
    ) -> Future[int]:
        """:meth:`prepare` on a background thread, so encoding can overlap generation."""
        future: Future[int] = Future()
        shot_list = list(shots)

        def run() -> None:
            try:
                future.set_result(self.prepare(shot_list, width, height, fps))
            except BaseException as exc:  # surfaced to whoever waits on the future
                future.set_exception(exc)

        threading.Thread(target=run, name="diffusion-prepare", daemon=True).start()
        return future

    def native_clip(self, shot: ShotSpec, width: int, height: int) -> tuple[_Clip, NativeShape]:
        """The shot's uint8 footage ``(frames, height, width, 3)``, generated if not cached."""
        key = self._key(shot, width, height)
        clip = self._clips.get(key)
        if clip is None:
            self._batch([shot], [key])
            clip = self._clips.get(key)
            assert clip is not None
        return clip, key[1]

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[Frame]:
        """Yield exactly ``frames_for(shot.duration_s, fps)`` frames of ``width x height``."""
        clip, native = self.native_clip(shot, width, height)
        yield from resample(clip, native, shot.duration_s, width, height, fps)

    @property
    def makes_sound(self) -> bool:
        """Whether the preset generates each shot's sound with its frames (LTX-2)."""
        return self.preset.sound

    def sound(
        self, shot: ShotSpec, width: int, height: int, fps: int | None = None
    ) -> ClipAudio | None:
        """The sound generated with the shot's footage at this size (``None``: a preset
        without sound); generates the shot if it is not cached. Footage does not depend
        on ``fps`` (accepted for a footage cache's signature), nor does its sound."""
        del fps
        if not self.preset.sound:
            return None
        key = self._key(shot, width, height)
        if self._clips.sound(key) is None:
            self.native_clip(shot, width, height)
        return self._clips.sound(key)

    # -- remix -----------------------------------------------------------------------
    def remix(
        self,
        source: Sequence[npt.NDArray[np.uint8]] | npt.NDArray[np.uint8],
        prompt: str,
        *,
        strength: float = 0.6,
        seed: int = 0,
        duration_s: float | None = None,
        width: int | None = None,
        height: int | None = None,
        fps: int | None = None,
    ) -> Iterator[Frame]:
        """A new shot from existing footage plus a new prompt (video-to-video).

        The whole ``source`` clip (uint8 RGB frames, e.g. decoded from a published
        creative) is resampled to the model's native shape, encoded to latents, noised to
        ``strength`` (near 0 keeps the source, 1 ignores it) and denoised from there.
        Yields frames at ``width x height`` and ``fps`` (defaults: the source size, the
        preset's fps). A preset that cannot remix raises :class:`ValueError`.
        """
        yield from self.remix_with_sound(
            source, prompt, strength=strength, seed=seed, duration_s=duration_s, width=width,
            height=height, fps=fps,
        )[0]  # fmt: skip

    def remix_with_sound(
        self,
        source: Sequence[npt.NDArray[np.uint8]] | npt.NDArray[np.uint8],
        prompt: str,
        *,
        strength: float = 0.6,
        seed: int = 0,
        duration_s: float | None = None,
        width: int | None = None,
        height: int | None = None,
        fps: int | None = None,
    ) -> tuple[Iterator[Frame], ClipAudio | None]:
        """:meth:`remix`, run now: its frames, and the sound a preset with sound generated
        with them (LTX-2, in the same call; from the native clip's first frame on)."""
        asked = remix_inputs(self.preset, source, strength, duration_s, width, height, fps)
        size = (asked.width, asked.height)
        with self._generate_lock, self.slot(), torch.inference_mode():
            pipe = self._load()
            if self._remix_pipe is None:
                self._remix_pipe = remix_pipeline(pipe, self.preset)
            embeds = self._guidance_kwargs([prompt])
            clips, sounds = self._run(
                self._remix_pipe, asked.native, size, embeds, [seed], None, asked.video, strength
            )
        native = asked.native
        native = NativeShape(native.width, native.height, len(clips[0]), native.fps)
        frames = resample(clips[0], native, asked.duration_s, *size, asked.fps)
        return frames, sounds[0] if sounds else None
