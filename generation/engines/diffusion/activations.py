"""Per-clip GPU memory counted from the clip's tokens, not guessed.

A batch adds, per extra clip, the activations of one transformer forward pass: they grow
with the clip's token count (latent frames x latent height x latent width / patches).
:func:`per_clip_gib` counts them by running the preset's full-size transformer on the
``meta`` device (nothing is allocated, a forward takes seconds on a CPU) under a
dispatch mode that adds up the bytes of every tensor the forward creates and still holds,
and keeps the peak. Attention is counted as the fused kernels the GPU runs (flash /
memory-efficient SDPA: the output only, never the tokens x tokens matrix). Classifier-free
guidance runs two samples per clip. The figure is counted once per preset and process.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from generation.engines.diffusion.presets import ModelPreset, first_pass_size

__all__ = ["PeakLiveBytes", "clip_tokens", "forward_peak_bytes", "per_clip_gib"]

_GIB = 1 << 30


def clip_tokens(preset: ModelPreset, width: int, height: int, num_frames: int) -> int:
    """Transformer tokens of one clip: latent frames x the latent grid over the patches.

    ``size_multiple`` is the VAE's spatial compression times the patch size and
    ``frame_multiple`` the temporal compression (as the presets define them).
    """
    frames = (num_frames - 1) // preset.frame_multiple + 1
    return frames * (height // preset.size_multiple) * (width // preset.size_multiple)


class _FusedAttention(TorchFunctionMode):
    """SDPA as the GPU's fused kernels allocate it: an output of the query's shape."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention:
            query = args[0] if args else kwargs["query"]
            value = args[2] if len(args) > 2 else kwargs["value"]
            return query.new_empty(*query.shape[:-1], value.shape[-1])
        return func(*args, **kwargs)


class PeakLiveBytes(TorchDispatchMode):
    """Bytes of the tensors created under the mode and still alive; and their peak.

    Views share their base's storage and count once; a storage leaves the count when
    its last tensor is collected. Parameters and inputs made before the mode are not
    counted: what is left is the activation memory of what runs under it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._storages: dict[int, list[int]] = {}  # storage -> [tensors alive, bytes]

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in pytree.tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                self._track(tensor)
        return out

    def _track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        key = storage._cdata
        entry = self._storages.get(key)
        if entry is None:
            entry = self._storages[key] = [0, storage.nbytes()]
            self.live += entry[1]
            self.peak = max(self.peak, self.live)
        entry[0] += 1
        weakref.finalize(tensor, self._release, key)

    def _release(self, key: int) -> None:
        entry = self._storages.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            self.live -= entry[1]
            del self._storages[key]


def _ltx_inputs(preset: ModelPreset, tokens: int, grid: tuple[int, int, int], dtype: Any) -> Any:
    config = preset.architecture.transformer if preset.architecture else {}
    frames, height, width = grid
    return {
        "hidden_states": torch.empty(1, tokens, config["in_channels"], dtype=dtype),
        "encoder_hidden_states": torch.empty(
            1, preset.max_sequence_length, config["caption_channels"], dtype=dtype
        ),
        "encoder_attention_mask": torch.ones(1, preset.max_sequence_length),
        # One timestep per token: the condition pipeline keeps the first frame's clean.
        "timestep": torch.empty(1, tokens),
        "num_frames": frames,
        "height": height,
        "width": width,
        "rope_interpolation_scale": (preset.frame_multiple / preset.fps, 32, 32),
        "return_dict": False,
    }


def _wan_inputs(preset: ModelPreset, grid: tuple[int, int, int], dtype: Any) -> Any:
    assert preset.architecture is not None
    arch = preset.architecture
    config = arch.transformer
    frames, height, width = grid
    patch = config["patch_size"]
    latents = (1, config["in_channels"], frames, height * patch[1], width * patch[2])
    per_token = arch.pipeline_kwargs.get("expand_timesteps", False)
    inputs: dict[str, Any] = {
        "hidden_states": torch.empty(latents, dtype=dtype),
        "timestep": torch.empty(1, frames * height * width) if per_token else torch.empty(1),
        "encoder_hidden_states": torch.empty(
            1, preset.max_sequence_length, config["text_dim"], dtype=dtype
        ),
        "return_dict": False,
    }
    if config.get("image_dim"):
        inputs["encoder_hidden_states_image"] = torch.empty(
            1, 257, config["image_dim"], dtype=dtype
        )
    return inputs


def forward_peak_bytes(
    preset: ModelPreset, width: int, height: int, num_frames: int, layers: int = 2
) -> int:
    """Peak activation bytes of one full-size transformer pass over one clip (batch 1).

    Counted with ``layers`` of the transformer's identical blocks: each block replaces the
    hidden states it was given, so the peak is one block's (on top of what all blocks
    share) whatever their number, and two of them count it in a fraction of the time.
    """
    from generation.engines.diffusion.random_weights import build_transformer

    assert preset.architecture is not None
    config = preset.architecture.transformer
    arch = dataclasses.replace(
        preset.architecture, transformer={**config, "num_layers": min(layers, config["num_layers"])}
    )
    preset = dataclasses.replace(preset, architecture=arch)
    dtype = getattr(torch, preset.dtype)
    grid = (
        (num_frames - 1) // preset.frame_multiple + 1,
        height // preset.size_multiple,
        width // preset.size_multiple,
    )
    tokens = grid[0] * grid[1] * grid[2]
    with torch.device("meta"):
        transformer = build_transformer(preset, "meta", dtype)
        if preset.family == "ltx":
            inputs = _ltx_inputs(preset, tokens, grid, dtype)
        else:
            inputs = _wan_inputs(preset, grid, dtype)
        with torch.no_grad(), _FusedAttention(), PeakLiveBytes() as count:
            transformer(**inputs)
    return count.peak


def per_clip_gib(preset: ModelPreset) -> float:
    """GiB one more clip in a batch adds at the preset's native size (its largest pass).

    Tiny presets (no full-size architecture) and LTX-2 keep their stated figure.
    """
    if preset.architecture is None or preset.family not in ("ltx", "wan"):
        return preset.memory.per_sample_gib  # LTX-2 runs one clip per call
    key = repr(preset)  # the whole value: a changed preset is counted again
    if key not in _COUNTED:
        _COUNTED[key] = _count_gib(preset)
    return _COUNTED[key]


_COUNTED: dict[str, float] = {}


def _count_gib(preset: ModelPreset) -> float:
    width, height = preset.width, preset.height
    if preset.two_pass is not None:
        first = first_pass_size(preset, width, height)
        width, height = 2 * first[0], 2 * first[1]  # the refining pass is the larger
    samples = 2 if preset.guidance > 1.0 else 1  # classifier-free guidance: two per clip
    return samples * forward_peak_bytes(preset, width, height, preset.num_frames) / _GIB
