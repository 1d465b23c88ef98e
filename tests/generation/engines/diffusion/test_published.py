"""Every hub preset's full-size modules against the published configs, on ``meta``.

Nothing is allocated and nothing is downloaded: the preset's transformer and VAE are built from
``generation/engines/diffusion/architectures.py`` on the meta device and compared with an
independent copy of the published diffusers configs
(``tests/generation/engines/diffusion/published_configs.py``): the release its hub id holds, the
compression the model card states, the latent and decoded shape of a 121-frame 480x832 clip, and
the parameter counts."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from generation.engines.diffusion.presets import PRESETS, get_preset
from generation.engines.diffusion.random_weights import (
    build_transformer,
    build_vae,
    parameter_count,
)
from tests.generation.engines.diffusion import published_configs as published

HUB_PRESETS = sorted(n for n, p in PRESETS.items() if p.model_id is not None)


def _release(name: str) -> str:
    model_id = get_preset(name).model_id
    assert model_id is not None
    return published.HUB_VERSIONS[model_id]


def _published(kind: str, name: str) -> Any:
    import diffusers

    preset = get_preset(name)
    cls = {
        ("transformer", "ltx"): diffusers.LTXVideoTransformer3DModel,
        ("transformer", "wan"): diffusers.WanTransformer3DModel,
        ("vae", "ltx"): diffusers.AutoencoderKLLTXVideo,
        ("vae", "wan"): diffusers.AutoencoderKLWan,
        ("transformer", "ltx2"): diffusers.LTX2VideoTransformer3DModel,
        ("vae", "ltx2"): diffusers.AutoencoderKLLTX2Video,
    }[(kind, preset.family)]
    config = getattr(published, kind.upper())[_release(name)]
    with torch.device("meta"):
        return cls(**config)


@pytest.mark.parametrize("name", HUB_PRESETS)
def test_preset_builds_the_release_its_hub_id_holds(name: str) -> None:
    transformer, vae = build_transformer(get_preset(name)), build_vae(get_preset(name))
    reference_t, reference_v = _published("transformer", name), _published("vae", name)
    assert parameter_count(transformer) == parameter_count(reference_t)
    assert parameter_count(vae) == parameter_count(reference_v)
    for key, value in reference_v.config.items():
        if key.startswith("_") or key in ("latents_mean", "latents_std"):
            continue
        assert vae.config[key] == value, f"{name}: vae.{key}"
    lo, hi = published.TRANSFORMER_BILLIONS[_release(name)]
    assert lo <= parameter_count(transformer) / 1e9 <= hi


@pytest.mark.parametrize("name", HUB_PRESETS)
def test_clip_latents_have_the_published_compression(name: str) -> None:
    from generation.engines.diffusion.random_weights import meta_clip_shapes

    preset = get_preset(name)
    spatial, temporal = published.COMPRESSION[_release(name)]
    channels = preset.architecture.transformer["out_channels"] if preset.architecture else 0
    latent, decoded = meta_clip_shapes(preset, 121, 480, 832)
    assert latent == (1, channels, (121 - 1) // temporal + 1, 480 // spatial, 832 // spatial)
    assert decoded == (1, 3, 2 * temporal + 1, 480, 832)  # three latent frames back
    # The transformer takes exactly these latents (Wan 2.1 I2V adds mask + condition).
    arch = preset.architecture
    assert arch is not None
    extra = 4 + channels if arch.image_encoder is not None else 0
    assert arch.transformer["in_channels"] == channels + extra
