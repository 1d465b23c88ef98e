"""GPU footage engine: product image-to-video with diffusers (LTX-Video, Wan).

Throughput by design:
- the pipeline is loaded once per engine, and the registry keeps one warm engine per
  worker process, so a whole campaign pays for one load;
- prompt embeddings are computed once per distinct prompt (and once for the negative);
- :meth:`DiffusionEngine.prepare` generates every not-yet-cached shot of a campaign in
  shape-grouped batches, one ``torch.Generator`` per shot, so later :meth:`frames` calls
  are cache hits; the renderer (compose + encode) then runs while the next batch
  generates (see ``flows/generate.py``);
- frames become uint8 on the device and cross to the host once per batch.

Reproducible: noise comes from CPU generators seeded by ``shot.seed``, so a shot's noise is
the same on any device and in any batch; the same shot and seed give the same frames on
the same device (batch composition may move GPU kernels by a rounding step).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image, ImageOps

from generation.devices import (
    DevicePlan,
    apply_placement,
    apply_speed_options,
    plan_device,
    synchronize,
)
from generation.models import (
    ModelPreset,
    ModelWeightsMissing,
    get_preset,
    missing_weights_message,
    resolve_source,
)
from generation.spec import ShotSpec

from .base import Frame
from .diffusion_frames import NativeShape, native_shape, resample
from .diffusion_pipes import (
    PromptEmbeds,
    decode_to_uint8,
    denoise,
    encode_prompt,
    remix_pipeline,
    stack_embeds,
)

__all__ = ["MOTION_PROMPTS", "DiffusionEngine", "StageTimes", "load_pipeline", "prompt_for"]

log = logging.getLogger(__name__)

# Camera wording the models were trained on (film usage: "pan left" = camera moves left).
MOTION_PROMPTS: dict[str, str] = {
    "push_in": "the camera slowly pushes in toward the product",
    "pull_out": "the camera slowly pulls out from the product, revealing more of the scene",
    "pan_left": "the camera pans slowly to the left across the product",
    "pan_right": "the camera pans slowly to the right across the product",
}
_STYLE = (
    "studio product showcase, soft lighting, sharp focus, smooth steady motion, "
    "the product keeps its exact shape, colours and label"
)


def prompt_for(shot: ShotSpec) -> str:
    """The text prompt of a shot: optional product description, camera move, house style."""
    description = shot.prompt.strip()
    parts = [description] if description else []
    parts += [MOTION_PROMPTS[shot.motion], _STYLE]
    return ". ".join(parts)


@dataclass
class StageTimes:
    """Accumulated wall-clock seconds per stage, with counts (what the benchmark prints)."""

    load_s: float = 0.0
    text_s: float = 0.0
    denoise_s: float = 0.0
    decode_s: float = 0.0
    prompts_encoded: int = 0
    batches: int = 0
    clips: int = 0
    loads: int = 0
    applied: list[str] = field(default_factory=list)


def load_pipeline(cls_name: str, source: str, *, local_files_only: bool, dtype: torch.dtype) -> Any:
    """``diffusers.<cls_name>.from_pretrained(source)``: the one place weights are loaded."""
    import diffusers

    cls = getattr(diffusers, cls_name)
    return cls.from_pretrained(source, dtype=dtype, local_files_only=local_files_only)


def _load_image(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # Products on transparent backgrounds go onto white, as a studio shot would.
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, (0, 0), rgba)
            return flat
        return image.convert("RGB")


def _fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """Cover-crop the conditioning photo to the generation size (first frame = the photo)."""
    return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)


Loader = Callable[..., Any]
_Clip = npt.NDArray[np.uint8]


class DiffusionEngine:
    """Footage engine generating each shot with an image-to-video diffusion model."""

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
        cache_bytes: int = 4 << 30,
        loader: Loader = load_pipeline,
        slot: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.preset = get_preset(preset) if isinstance(preset, str) else preset
        self.model_dir = Path(model_dir) if model_dir else None
        self._device_name = device
        self._speed = {
            "compile_blocks": compile_blocks,
            "attention_backend": attention_backend,
            "first_block_cache": first_block_cache,
        }
        self._cache_bytes = cache_bytes
        self._loader = loader
        # Held around every GPU call; a flow may set it to a cross-process GPU slot.
        self.slot = slot or nullcontext
        self.times = StageTimes()
        self.plan: DevicePlan | None = None
        self._pipe: Any = None
        self._remix_pipe: Any = None
        self._embeds: dict[str, PromptEmbeds] = {}
        self._footage: OrderedDict[tuple[str, NativeShape], _Clip] = OrderedDict()
        self._footage_bytes = 0
        # One generation at a time per engine (per GPU); renders may call from threads.
        self._lock = threading.RLock()

    @property
    def fingerprint(self) -> str:
        """Model identity for render hashes: preset, weights source and steps."""
        source = str(self.model_dir) if self.model_dir else self.preset.model_id
        return f"{self.preset.name}|{source}|steps={self.preset.steps}"

    # -- loading ---------------------------------------------------------------------
    def pipeline(self) -> Any:
        """The warm pipeline, loaded (and placed on the device) on first use."""
        with self._lock:
            if self._pipe is None:
                started = time.perf_counter()
                source, local_only = resolve_source(self.preset, self.model_dir)
                plan = plan_device(self.preset, self._device_name, batch=self.preset.max_batch)
                try:
                    pipe = self._loader(
                        self.preset.i2v_pipeline,
                        source,
                        local_files_only=local_only,
                        dtype=plan.dtype,
                    )
                except (OSError, ValueError) as exc:
                    # huggingface_hub raises OSError subclasses for missing repos/files.
                    raise ModelWeightsMissing(
                        f"{missing_weights_message(self.preset, self.model_dir)}\n(cause: {exc})"
                    ) from exc
                pipe.set_progress_bar_config(disable=True)
                apply_placement(pipe, plan)
                self.times.applied = [plan.placement] + (["vae_tiling"] if plan.vae_tiling else [])
                self.times.applied += apply_speed_options(pipe, plan, **self._speed)  # type: ignore[arg-type]
                self.plan, self._pipe = plan, pipe
                self.times.loads += 1
                self.times.load_s += time.perf_counter() - started
                log.info(
                    "loaded %s on %s (%s)",
                    self.preset.name,
                    plan.device,
                    ", ".join(self.times.applied),
                )
            return self._pipe

    # -- prompts ---------------------------------------------------------------------
    def embeddings(self, text: str) -> PromptEmbeds:
        """Text embeddings of ``text``, computed once and reused for every shot."""
        with self._lock:
            cached = self._embeds.get(text)
            if cached is None:
                pipe = self.pipeline()
                started = time.perf_counter()
                with torch.inference_mode():
                    cached = encode_prompt(pipe, self.preset, text)
                assert self.plan is not None
                synchronize(self.plan.device)
                self.times.text_s += time.perf_counter() - started
                self.times.prompts_encoded += 1
                self._embeds[text] = cached
            return cached

    def _guidance_kwargs(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        positives = [self.embeddings(p) for p in prompts]
        negative = (
            self.embeddings(self.preset.negative_prompt) if self.preset.guidance > 1.0 else None
        )
        return stack_embeds(positives, negative)

    # -- footage cache ---------------------------------------------------------------
    def _cached(self, key: tuple[str, NativeShape]) -> _Clip | None:
        clip = self._footage.get(key)
        if clip is not None:
            self._footage.move_to_end(key)
        return clip

    def _store(self, key: tuple[str, NativeShape], clip: _Clip) -> None:
        self._footage[key] = clip
        self._footage_bytes += clip.nbytes
        # Keep at least the newest clip even if it alone exceeds the budget.
        while self._footage_bytes > self._cache_bytes and len(self._footage) > 1:
            _, old = self._footage.popitem(last=False)
            self._footage_bytes -= old.nbytes

    # -- generation ------------------------------------------------------------------
    def _generate(self, shots: Sequence[ShotSpec], native: NativeShape) -> list[_Clip]:
        """One pipeline call for ``shots`` (all of shape ``native``); returns their clips."""
        pipe = self.pipeline()
        assert self.plan is not None
        images = [_fit(_load_image(s.image_path), native.width, native.height) for s in shots]
        if not self.preset.batch_distinct_images:
            images = images[:1]  # the caller grouped shots of one photo
        generators = [torch.Generator("cpu").manual_seed(s.seed) for s in shots]
        embeds = self._guidance_kwargs([prompt_for(s) for s in shots])
        with self.slot(), torch.inference_mode():
            clips = self._run(
                pipe, native, embeds, generators, images=images, video=None, strength=None
            )
        self.times.clips += len(shots)
        return clips

    def _run(
        self,
        pipe: Any,
        native: NativeShape,
        embeds: dict[str, torch.Tensor],
        generators: list[torch.Generator],
        *,
        images: Sequence[Image.Image] | None,
        video: Sequence[Image.Image] | None,
        strength: float | None,
    ) -> list[_Clip]:
        assert self.plan is not None
        marks: dict[str, float] = {}
        started = time.perf_counter()
        latents = denoise(
            pipe,
            self.preset,
            images=images,
            video=video,
            embeds=embeds,
            generators=generators,
            width=native.width,
            height=native.height,
            num_frames=native.num_frames,
            strength=strength,
            marks=marks,
            clock=time.perf_counter,
        )
        synchronize(self.plan.device)
        denoised = marks.get("denoised", time.perf_counter())
        pixels = decode_to_uint8(
            pipe, self.preset, latents, generators, native.width, native.height, native.num_frames
        )
        self.times.denoise_s += denoised - started
        self.times.decode_s += time.perf_counter() - denoised
        self.times.batches += 1
        return [np.ascontiguousarray(clip) for clip in pixels.numpy()]

    def _groups(
        self, todo: list[tuple[ShotSpec, NativeShape, str]]
    ) -> Iterator[tuple[NativeShape, list[ShotSpec], list[str]]]:
        """Batches of shots sharing a native shape (and a photo, if the model needs it)."""
        buckets: dict[tuple[Any, ...], list[tuple[ShotSpec, str]]] = {}
        for shot, native, key in todo:
            group: tuple[Any, ...] = (native,)
            if not self.preset.batch_distinct_images:
                group += (str(Path(shot.image_path).resolve()),)
            buckets.setdefault(group, []).append((shot, key))
        size = max(1, self.preset.max_batch)
        if self.plan is not None and self.plan.placement != "resident":
            size = 1  # offloaded: activations of a batch would not fit either
        for group, members in buckets.items():
            for i in range(0, len(members), size):
                chunk = members[i : i + size]
                yield group[0], [s for s, _ in chunk], [k for _, k in chunk]

    def prepare(self, shots: Iterable[ShotSpec], width: int, height: int, fps: int) -> int:
        """Generate every not-yet-cached shot in batches; returns how many were generated.

        ``fps`` is accepted for symmetry with :meth:`frames`: native footage does not
        depend on it (frames are picked by timestamp later).
        """
        del fps
        with self._lock:
            self.pipeline()
            todo: list[tuple[ShotSpec, NativeShape, str]] = []
            seen: set[tuple[str, NativeShape]] = set()
            for shot in shots:
                native = native_shape(self.preset, width, height, shot.duration_s)
                key = (shot.key(), native)
                if key in seen or self._cached(key) is not None:
                    continue
                seen.add(key)
                todo.append((shot, native, key[0]))
            for native, group, digests in self._groups(todo):
                for digest, clip in zip(digests, self._generate(group, native), strict=True):
                    self._store((digest, native), clip)
            return len(todo)

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
        """The shot's native uint8 footage ``(frames, h, w, 3)``, generated if not cached."""
        native = native_shape(self.preset, width, height, shot.duration_s)
        key = (shot.key(), native)
        with self._lock:
            clip = self._cached(key)
            if clip is None:
                clip = self._generate([shot], native)[0]
                self._store(key, clip)
            return clip, native

    def frames(self, shot: ShotSpec, width: int, height: int, fps: int) -> Iterator[Frame]:
        """Yield exactly ``frames_for(shot.duration_s, fps)`` frames of ``width x height``."""
        clip, native = self.native_clip(shot, width, height)
        yield from resample(clip, native, shot.duration_s, width, height, fps)

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

        ``source`` frames (uint8 RGB, e.g. decoded from a published creative) are resampled
        to the model's native shape and noised to ``strength`` (0 keeps the source, 1
        ignores it) before denoising. Yields frames at ``width x height`` and ``fps``
        (defaults: the source size, the preset's fps).
        """
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"remix strength must be in (0, 1], got {strength!r}")
        src = np.asarray(source, dtype=np.uint8)
        if src.ndim != 4 or src.shape[-1] != 3 or len(src) == 0:
            raise ValueError("remix source must be frames of shape (n, height, width, 3)")
        height = height or src.shape[1]
        width = width or src.shape[2]
        fps = fps or self.preset.fps
        duration = duration_s or len(src) / fps
        native = native_shape(self.preset, width, height, duration)
        picks = np.linspace(0, len(src) - 1, native.num_frames).round().astype(int)
        video = [_fit(Image.fromarray(src[i]), native.width, native.height) for i in picks]
        with self._lock:
            pipe = self.pipeline()
            if self._remix_pipe is None:
                self._remix_pipe = remix_pipeline(pipe, self.preset)
                self._remix_pipe.set_progress_bar_config(disable=True)
            embeds = self._guidance_kwargs([prompt])
            generators = [torch.Generator("cpu").manual_seed(seed)]
            with self.slot(), torch.inference_mode():
                clip = self._run(
                    self._remix_pipe,
                    native,
                    embeds,
                    generators,
                    images=None,
                    video=video,
                    strength=strength,
                )[0]
        native = NativeShape(native.width, native.height, len(clip), native.fps)
        yield from resample(clip, native, duration, width, height, fps)
