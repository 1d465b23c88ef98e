"""LTX-2: footage with its own sound, through the engine, from a saved tiny pipeline.

The tiny ``LTX2ImageToVideoPipeline`` (Gemma 3 encoder, connectors, audio-video
transformer, video and audio VAEs, vocoder) is saved and loaded through
``from_pretrained`` like a downloaded checkpoint; the full-size modules are built on
``meta`` from the published configs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.engines.diffusion.engine import DiffusionEngine
from generation.engines.diffusion.presets import get_preset
from generation.engines.diffusion.random_weights import build_transformer, parameter_count
from generation.spec import ShotSpec
from tests.generation.conftest import draw_product_photo
from tests.generation.tiny_pipelines import saved_tiny_pipeline

W, H = 32, 32


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_product_photo(tmp_path_factory.mktemp("sound") / "bottle.png")


def test_ltx2_footage_comes_with_its_sound(photo: Path) -> None:
    engine = DiffusionEngine("tiny-ltx2", model_dir=saved_tiny_pipeline("ltx2"))
    shot = ShotSpec(photo, "push_in", 0.3, 1)
    frames = list(engine.frames(shot, W, H, 24))
    assert len(frames) == round(0.3 * 24) and all(f.shape == (H, W, 3) for f in frames)
    sound = engine.sound(shot, W, H)
    assert sound is not None and engine.times.batches == 1  # came with the frames
    native = engine.native_clip(shot, W, H)[1]
    vocoder = engine.pipeline().vocoder.config
    assert sound.rate == vocoder.output_sampling_rate
    assert sound.samples.shape[0] == vocoder.out_channels == 2
    # As long as the clip, to one latent audio frame (4 mel frames of 10 ms, upsampled).
    clip_s = native.num_frames / native.fps
    assert sound.samples.shape[1] / sound.rate == pytest.approx(clip_s, abs=0.05)
    assert np.isfinite(sound.samples).all() and np.abs(sound.samples).max() > 0
    # Asked again, the sound is the cached one: nothing is generated twice.
    assert engine.sound(shot, W, H) is sound and engine.times.batches == 1
    # What the render mixes: the shot's sound from the engine (or a footage cache over
    # it) placed on its scene, under a soundtrack, on the quality gate's loudness.
    from generation.audio import SAMPLE_RATE, music_bed
    from generation.engines.motion import MotionEngine
    from generation.quality.rules import check_loudness
    from generation.scene_sound import engine_sounds, mix_scene_sound

    (placed,) = engine_sounds(engine, [shot], [0.5], W, H)
    assert placed.start_s == 0.5 and placed.samples is sound.samples
    assert engine_sounds(MotionEngine(), [shot], [0.0], W, H) == []
    mixed = mix_scene_sound(music_bed(1.0, seed=1), [placed], None)
    assert check_loudness(mixed.T.astype(np.float64), SAMPLE_RATE).passed
    # A preset without sound says so.
    assert (
        DiffusionEngine("tiny-ltx", model_dir=saved_tiny_pipeline("ltx")).sound(shot, W, H) is None
    )


def test_full_size_ltx2_is_the_published_19b_on_meta() -> None:
    from diffusers import AutoencoderKLLTX2Audio
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    preset = get_preset("ltx2-i2v-audio")
    arch = preset.architecture
    assert arch is not None and arch.audio_vae is not None and arch.vocoder is not None
    transformer = build_transformer(preset, "meta", torch.bfloat16)
    billions = parameter_count(transformer) / 1e9
    assert arch.params_b[0] <= billions <= arch.params_b[1]  # "ltx-2-19b"
    with torch.device("meta"):
        audio_vae = AutoencoderKLLTX2Audio(**arch.audio_vae)
        vocoder = LTX2Vocoder(**arch.vocoder)
    audio = audio_vae.config
    # The vocoder reads the audio VAE's mel output (channels x mel bins) and turns each
    # mel frame (hop 160 at 16 kHz: 100 a second) into upsampling-product samples.
    assert vocoder.config.in_channels == audio.output_channels * audio.mel_bins
    per_second = audio.sample_rate / audio.mel_hop_length
    assert (
        per_second * math.prod(vocoder.config.upsample_factors)
        == vocoder.config.output_sampling_rate
    )
    assert arch.transformer["audio_sampling_rate"] == audio.sample_rate
    assert arch.transformer["audio_hop_length"] == audio.mel_hop_length
    assert arch.transformer["audio_in_channels"] == audio.latent_channels * audio.mel_bins // 4


def test_the_random_ltx2_pipeline_is_full_size_on_meta() -> None:
    from generation.engines.diffusion.random_weights import build_ltx2_pipeline

    pipe = build_ltx2_pipeline(get_preset("ltx2-i2v-audio"), "meta", torch.bfloat16)
    # Gemma 3 12B (its SigLIP tower included) and the connectors reading all its layers.
    encoder = parameter_count(pipe.text_encoder) / 1e9
    assert 11.8 < encoder < 12.5
    text = pipe.text_encoder.config.text_config
    assert pipe.connectors.config.text_proj_in_factor == text.num_hidden_layers + 1
    assert pipe.connectors.config.caption_channels == text.hidden_size
    assert pipe.transformer.config.caption_channels == text.hidden_size
    assert pipe.vocoder.config.output_sampling_rate == 24_000
    assert all(p.is_meta for p in pipe.transformer.parameters())
