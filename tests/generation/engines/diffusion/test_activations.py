"""Per-clip memory counted from tokens, against counts made by hand.

The counter runs the full-size transformers on the ``meta`` device; here it is checked on
tensors whose sizes are known, and its LTX figure against a count of the tensors the LTX
block's code holds at its peak (read off ``LTXVideoTransformerBlock.forward``).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from generation.engines.diffusion.activations import (
    PeakLiveBytes,
    clip_tokens,
    forward_peak_bytes,
    per_clip_gib,
)
from generation.engines.diffusion.presets import get_preset


def test_the_counter_keeps_the_peak_of_live_tensors() -> None:
    with torch.device("meta"):
        base = torch.empty(1000)  # made before the mode: not counted
        with PeakLiveBytes() as count:
            doubled = base * 2  # 4,000 bytes
            view = doubled[:10]  # a view: no new storage
            shifted = doubled + 1  # 8,000 live
            del doubled  # the view keeps its storage alive
            summed = shifted + view.sum()  # 4-byte sum, then 12,004 live: the peak
            del shifted, view, summed
            tail = base * 3  # 4,000 live again
    assert (count.peak, count.live) == (12_004, 4_000)
    del tail


def test_clip_tokens_are_the_latent_grid() -> None:
    # 121 frames at 480x832: LTX compresses 8x in time and 32x in space (patch 1):
    # 16 x 15 x 26; Wan 2.2 at 1280x704: 4x in time, 16x VAE x 2x2 patches: 31 x 22 x 40.
    assert clip_tokens(get_preset("ltx-video-i2v"), 832, 480, 121) == 16 * 15 * 26 == 6240
    assert clip_tokens(get_preset("wan2.2-ti2v-5b"), 1280, 704, 121) == 31 * 22 * 40


def test_ltx_activations_match_a_count_by_hand() -> None:
    preset = get_preset("ltx-video-i2v")
    assert preset.architecture is not None
    d = preset.architecture.transformer["num_attention_heads"] * 128  # 4096
    bf16, fp32 = 2, 4
    tokens = clip_tokens(preset, 832, 480, 121)
    # Held through every block: the hidden states, the per-token timestep embedding (6d)
    # and its embedded timestep (d), RoPE cos and sin in float32. Inside a block at the
    # feed-forward: the modulation table added to it (6d), the modulated norm (d), the
    # feed-forward's 4d projection and its GELU (4d each).
    per_token = bf16 * d * (1 + 6 + 1) + fp32 * d * 2 + bf16 * d * (6 + 1 + 4 + 4)
    counted = forward_peak_bytes(preset, 832, 480, 121)
    assert counted == pytest.approx(per_token * tokens, rel=0.15)
    # The peak is one block's: more blocks do not add to it (the count runs two).
    assert forward_peak_bytes(preset, 832, 480, 121, layers=3) == counted
    # Linear in tokens (fused attention: no tokens x tokens matrix).
    wider = forward_peak_bytes(preset, 1088, 576, 121)
    assert wider / counted == pytest.approx(clip_tokens(preset, 1088, 576, 121) / tokens, rel=0.02)
    # One clip more in a batch costs ~1.4 GiB, not the 3 GiB a fixed guess said; a guided
    # preset runs two samples per clip.
    assert per_clip_gib(preset) == pytest.approx(counted / 2**30)
    guided = dataclasses.replace(preset, guidance=3.0)
    assert per_clip_gib(guided) == pytest.approx(2 * counted / 2**30)
