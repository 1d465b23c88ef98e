"""Full-size module hyper-parameters of the hub presets, as the checkpoints publish them.

Each dictionary is the diffusers config of one published checkpoint, copied from the
conversion scripts that produced the hub folders (diffusers
``scripts/convert_ltx_to_diffusers.py`` ``get_transformer_config``/``get_vae_config`` and
``scripts/convert_wan_to_diffusers.py`` ``get_transformer_config``/``vae22_diffusers_config``).
``bench/generation.py --random-init`` and ``bench/gpu_check.py`` build them with random
weights to time the real shapes offline; the tests compare them, on the ``meta`` device,
with an independent copy of the published configs (compression, latent shape, parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ARCHITECTURES",
    "GEMMA3_12B_TEXT",
    "GEMMA3_VISION",
    "T5_XXL",
    "UMT5_XXL",
    "Architecture",
]


@dataclass(frozen=True)
class Architecture:
    """A preset's full-size hyper-parameters, for building it with random weights.

    ``text_dim`` is the text encoder's hidden size (T5-XXL / UMT5-XXL: 4096): the random
    pipeline uses a one-layer encoder of that width instead of the multi-billion one.
    ``params_b`` is the expected transformer size in billions (``lo``, ``hi``).
    ``version`` names the checkpoint release the configs belong to.
    """

    transformer: dict[str, Any]
    vae: dict[str, Any]
    version: str
    text_dim: int = 4096
    params_b: tuple[float, float] = (0.0, float("inf"))
    # Extra pipeline constructor arguments (e.g. Wan 2.2 TI2V's ``expand_timesteps``).
    pipeline_kwargs: dict[str, Any] = field(default_factory=dict)
    scheduler: dict[str, Any] = field(default_factory=dict)
    # Wan 2.1 I2V conditions on CLIP ViT-H/14 image features (``CLIPVisionConfig`` kwargs).
    image_encoder: dict[str, Any] | None = None
    # The LTX latent upsampler of a two-pass preset (``LTXLatentUpsamplerModel`` kwargs).
    upsampler: dict[str, Any] | None = None
    # LTX-2's sound path: the audio VAE and the vocoder (their classes' kwargs).
    audio_vae: dict[str, Any] | None = None
    vocoder: dict[str, Any] | None = None


# LTX-Video transformers: convert_ltx_to_diffusers.get_transformer_config ("0.9.7" is the
# 13B model; every earlier release is the 2B one).
_LTX_2B_TRANSFORMER: dict[str, Any] = {
    "in_channels": 128,
    "out_channels": 128,
    "patch_size": 1,
    "patch_size_t": 1,
    "num_attention_heads": 32,
    "attention_head_dim": 64,
    "cross_attention_dim": 2048,
    "num_layers": 28,
    "activation_fn": "gelu-approximate",
    "qk_norm": "rms_norm_across_heads",
    "norm_elementwise_affine": False,
    "norm_eps": 1e-6,
    "caption_channels": 4096,
    "attention_bias": True,
    "attention_out_bias": True,
}
_LTX_13B_TRANSFORMER = {
    **_LTX_2B_TRANSFORMER,
    "attention_head_dim": 128,
    "cross_attention_dim": 4096,
    "num_layers": 48,
}
# LTX-Video 0.9.0 VAE (what the root of ``Lightricks/LTX-Video`` holds): 32x / 8x, no
# timestep conditioning. convert_ltx_to_diffusers.get_vae_config("0.9.0").
_LTX_090_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("LTXVideoDownBlock3D",) * 4,
    "decoder_block_out_channels": (128, 256, 512, 512),
    "layers_per_block": (4, 3, 3, 3, 4),
    "decoder_layers_per_block": (4, 3, 3, 3, 4),
    "spatio_temporal_scaling": (True, True, True, False),
    "decoder_spatio_temporal_scaling": (True, True, True, False),
    "decoder_inject_noise": (False, False, False, False, False),
    "downsample_type": ("conv", "conv", "conv", "conv"),
    "upsample_residual": (False, False, False, False),
    "upsample_factor": (1, 1, 1, 1),
    "patch_size": 4,
    "patch_size_t": 1,
    "resnet_norm_eps": 1e-6,
    "scaling_factor": 1.0,
    "encoder_causal": True,
    "decoder_causal": False,
    "timestep_conditioning": False,
}
# LTX-Video 0.9.7 VAE: convert_ltx_to_diffusers.get_vae_config("0.9.7").
_LTX_097_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "block_out_channels": (128, 256, 512, 1024, 2048),
    "down_block_types": ("LTXVideo095DownBlock3D",) * 4,
    "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 6, 6, 2, 2),
    "decoder_layers_per_block": (5, 5, 5, 5),
    "spatio_temporal_scaling": (True, True, True, True),
    "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (False, False, False, False),
    "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    "upsample_residual": (True, True, True),
    "upsample_factor": (2, 2, 2),
    "timestep_conditioning": True,
    "patch_size": 4,
    "patch_size_t": 1,
    "resnet_norm_eps": 1e-6,
    "scaling_factor": 1.0,
    "encoder_causal": True,
    "decoder_causal": False,
    "spatial_compression_ratio": 32,
    "temporal_compression_ratio": 8,
}
# Schedulers as the conversion script saves them: 0.9.5/0.9.7 without dynamic shifting
# (their timesteps come from the caller), earlier releases with it.
_LTX_097_SCHEDULER: dict[str, Any] = {"use_dynamic_shifting": False}
_LTX_090_SCHEDULER: dict[str, Any] = {
    "use_dynamic_shifting": True,
    "base_shift": 0.95,
    "max_shift": 2.05,
    "base_image_seq_len": 1024,
    "max_image_seq_len": 4096,
    "shift_terminal": 0.1,
}

# The spatial latent upsampler of 0.9.7 (and 0.9.8): 2x height and width, latent
# channels in and out. convert_ltx_to_diffusers.get_spatial_latent_upsampler_config.
_LTX_097_UPSAMPLER: dict[str, Any] = {
    "in_channels": 128,
    "mid_channels": 512,
    "num_blocks_per_stage": 4,
    "dims": 3,
    "spatial_upsample": True,
    "temporal_upsample": False,
}

# Wan 2.2 TI2V-5B: convert_wan_to_diffusers.get_transformer_config("Wan2.2-TI2V-5B").
_WAN22_5B_TRANSFORMER: dict[str, Any] = {
    "added_kv_proj_dim": None,
    "attention_head_dim": 128,
    "cross_attn_norm": True,
    "eps": 1e-6,
    "ffn_dim": 14336,
    "freq_dim": 256,
    "in_channels": 48,
    "num_attention_heads": 24,
    "num_layers": 30,
    "out_channels": 48,
    "patch_size": (1, 2, 2),
    "qk_norm": "rms_norm_across_heads",
    "text_dim": 4096,
}
# convert_wan_to_diffusers.vae22_diffusers_config (the per-channel latent statistics
# only matter for real weights; the random build keeps the defaults' shape).
_WAN22_VAE: dict[str, Any] = {
    "base_dim": 160,
    "z_dim": 48,
    "is_residual": True,
    "in_channels": 12,
    "out_channels": 12,
    "decoder_base_dim": 256,
    "scale_factor_temporal": 4,
    "scale_factor_spatial": 16,
    "patch_size": 2,
    "latents_mean": [0.0] * 48,
    "latents_std": [1.0] * 48,
}
# Wan 2.1 I2V 14B 480p: get_transformer_config("Wan-I2V-14B-480p").
_WAN21_I2V_14B_TRANSFORMER: dict[str, Any] = {
    "image_dim": 1280,
    "added_kv_proj_dim": 5120,
    "attention_head_dim": 128,
    "cross_attn_norm": True,
    "eps": 1e-6,
    "ffn_dim": 13824,
    "freq_dim": 256,
    "in_channels": 36,
    "num_attention_heads": 40,
    "num_layers": 40,
    "out_channels": 16,
    "patch_size": (1, 2, 2),
    "qk_norm": "rms_norm_across_heads",
    "text_dim": 4096,
}
_WAN21_VAE: dict[str, Any] = {}  # convert_vae() builds AutoencoderKLWan() with defaults
_CLIP_VIT_H14: dict[str, Any] = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 16,
    "patch_size": 14,
    "image_size": 224,
    "projection_dim": 1024,
    "hidden_act": "gelu",
}

# LTX-2 (Lightricks/LTX-2, "ltx-2-19b"): diffusers scripts/convert_ltx2_to_diffusers.py,
# get_ltx2_transformer_config / get_ltx2_video_vae_config / get_ltx2_vocoder_config
# ("2.0"). The audio VAE is built with AutoencoderKLLTX2Audio's defaults (16 kHz, 64 mel
# bins, hop 160, 8 latent channels), whose 2 x 64 mel output is the vocoder's 128 inputs.
_LTX2_TRANSFORMER: dict[str, Any] = {
    "in_channels": 128,
    "out_channels": 128,
    "patch_size": 1,
    "patch_size_t": 1,
    "num_attention_heads": 32,
    "attention_head_dim": 128,
    "cross_attention_dim": 4096,
    "vae_scale_factors": (8, 32, 32),
    "pos_embed_max_pos": 20,
    "base_height": 2048,
    "base_width": 2048,
    "audio_in_channels": 128,
    "audio_out_channels": 128,
    "audio_patch_size": 1,
    "audio_patch_size_t": 1,
    "audio_num_attention_heads": 32,
    "audio_attention_head_dim": 64,
    "audio_cross_attention_dim": 2048,
    "audio_scale_factor": 4,
    "audio_pos_embed_max_pos": 20,
    "audio_sampling_rate": 16000,
    "audio_hop_length": 160,
    "num_layers": 48,
    "activation_fn": "gelu-approximate",
    "qk_norm": "rms_norm_across_heads",
    "norm_elementwise_affine": False,
    "norm_eps": 1e-6,
    "caption_channels": 3840,
    "attention_bias": True,
    "attention_out_bias": True,
    "rope_theta": 10000.0,
    "causal_offset": 1,
}
_LTX2_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "block_out_channels": (256, 512, 1024, 2048),
    "down_block_types": ("LTX2VideoDownBlock3D",) * 4,
    "decoder_block_out_channels": (256, 512, 1024),
    "layers_per_block": (4, 6, 6, 2, 2),
    "decoder_layers_per_block": (5, 5, 5, 5),
    "spatio_temporal_scaling": (True, True, True, True),
    "decoder_spatio_temporal_scaling": (True, True, True),
    "decoder_inject_noise": (False, False, False, False),
    "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    "upsample_residual": (True, True, True),
    "upsample_factor": (2, 2, 2),
    "timestep_conditioning": False,
    "patch_size": 4,
    "patch_size_t": 1,
    "resnet_norm_eps": 1e-6,
    "encoder_causal": True,
    "decoder_causal": False,
    "encoder_spatial_padding_mode": "zeros",
    "decoder_spatial_padding_mode": "reflect",
    "spatial_compression_ratio": 32,
    "temporal_compression_ratio": 8,
}
_LTX2_AUDIO_VAE: dict[str, Any] = {}  # the class defaults, as above
_LTX2_VOCODER: dict[str, Any] = {
    "in_channels": 128,
    "hidden_channels": 1024,
    "out_channels": 2,
    "upsample_kernel_sizes": [16, 15, 8, 4, 4],
    "upsample_factors": [6, 5, 2, 2, 2],
    "resnet_kernel_sizes": [3, 7, 11],
    "resnet_dilations": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "leaky_relu_negative_slope": 0.1,
    "output_sampling_rate": 24000,
}

# The text encoders' configs (transformers' T5Config / UMT5Config kwargs): LTX-Video
# encodes with T5 v1.1 XXL (google/t5-v1_1-xxl, the ``text_encoder`` of the LTX hub
# folders; 4.76 B parameters), Wan with UMT5-XXL (google/umt5-xxl: the same layers over a
# 256k vocabulary). Only the encoder stack is built.
T5_XXL: dict[str, Any] = {
    "vocab_size": 32128,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "relative_attention_num_buckets": 32,
    "feed_forward_proj": "gated-gelu",
}
UMT5_XXL: dict[str, Any] = {**T5_XXL, "vocab_size": 256384}
# LTX-2 encodes with Gemma 3 12B (google/gemma-3-12b-it: the ``text_encoder`` of
# Lightricks/LTX-2), all 49 hidden states read by the connectors (text_proj_in_factor 49).
GEMMA3_12B_TEXT: dict[str, Any] = {
    "vocab_size": 262208,
    "hidden_size": 3840,
    "intermediate_size": 15360,
    "num_hidden_layers": 48,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 256,
}
GEMMA3_VISION: dict[str, Any] = {  # SigLIP so400m at 896 px, 256 tokens per image
    "hidden_size": 1152,
    "intermediate_size": 4304,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "image_size": 896,
    "patch_size": 14,
}

ARCHITECTURES: dict[str, Architecture] = {
    "ltx-video-i2v": Architecture(
        _LTX_13B_TRANSFORMER,
        _LTX_097_VAE,
        version="0.9.7",
        params_b=(12.5, 13.5),
        scheduler=_LTX_097_SCHEDULER,
    ),
    "ltx-video-i2v-2pass": Architecture(
        _LTX_13B_TRANSFORMER,
        _LTX_097_VAE,
        version="0.9.7",
        params_b=(12.5, 13.5),
        scheduler=_LTX_097_SCHEDULER,
        upsampler=_LTX_097_UPSAMPLER,
    ),
    "ltx-video-2b": Architecture(
        _LTX_2B_TRANSFORMER,
        _LTX_090_VAE,
        version="0.9.0",
        params_b=(1.9, 2.1),
        scheduler=_LTX_090_SCHEDULER,
    ),
    "wan2.2-ti2v-5b": Architecture(
        _WAN22_5B_TRANSFORMER,
        _WAN22_VAE,
        version="2.2-ti2v-5b",
        params_b=(4.8, 5.2),
        pipeline_kwargs={"expand_timesteps": True},
        scheduler={"shift": 5.0},
    ),
    "ltx2-i2v-audio": Architecture(
        _LTX2_TRANSFORMER,
        _LTX2_VAE,
        version="2.0",
        text_dim=3840,  # Gemma 3 12B
        params_b=(18.5, 19.5),  # "ltx-2-19b"
        audio_vae=_LTX2_AUDIO_VAE,
        vocoder=_LTX2_VOCODER,
    ),
    "wan2.1-i2v-14b-480p": Architecture(
        _WAN21_I2V_14B_TRANSFORMER,
        _WAN21_VAE,
        version="2.1-i2v-14b-480p",
        params_b=(16.0, 16.8),
        scheduler={"shift": 3.0},
        image_encoder=_CLIP_VIT_H14,
    ),
}
