"""The published diffusers configs of the preset checkpoints: the tests' reference.

Copied by hand, independently of ``generation/engines/diffusion/architectures.py``, from the
scripts that produced the hub folders (huggingface/diffusers,
``scripts/convert_ltx_to_diffusers.py``: ``get_transformer_config`` and ``get_vae_config``;
``scripts/convert_wan_to_diffusers.py``: ``get_transformer_config`` and
``vae22_diffusers_config``), plus the facts the model cards state: compression ratios and model
sizes."""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMPRESSION",
    "DISTILLED_YAML",
    "HUB_VERSIONS",
    "INFERENCE_DEFAULTS",
    "LTX_2B_YAML",
    "LTX_VAE_SCALE_FACTOR",
    "TRANSFORMER",
    "TRANSFORMER_BILLIONS",
    "UPSAMPLER",
    "VAE",
]

_LTX_COMMON: dict[str, Any] = dict(
    in_channels=128,
    out_channels=128,
    patch_size=1,
    patch_size_t=1,
    num_attention_heads=32,
    activation_fn="gelu-approximate",
    qk_norm="rms_norm_across_heads",
    norm_elementwise_affine=False,
    norm_eps=1e-6,
    caption_channels=4096,
    attention_bias=True,
    attention_out_bias=True,
)

TRANSFORMER: dict[str, dict[str, Any]] = {
    # convert_ltx2_to_diffusers.get_ltx2_transformer_config("2.0")
    "ltx-2.0": dict(
        in_channels=128,
        out_channels=128,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=32,
        attention_head_dim=128,
        cross_attention_dim=4096,
        vae_scale_factors=(8, 32, 32),
        pos_embed_max_pos=20,
        base_height=2048,
        base_width=2048,
        audio_in_channels=128,
        audio_out_channels=128,
        audio_patch_size=1,
        audio_patch_size_t=1,
        audio_num_attention_heads=32,
        audio_attention_head_dim=64,
        audio_cross_attention_dim=2048,
        audio_scale_factor=4,
        audio_pos_embed_max_pos=20,
        audio_sampling_rate=16000,
        audio_hop_length=160,
        num_layers=48,
        activation_fn="gelu-approximate",
        qk_norm="rms_norm_across_heads",
        norm_elementwise_affine=False,
        norm_eps=1e-6,
        caption_channels=3840,
        attention_bias=True,
        attention_out_bias=True,
        rope_theta=10000.0,
        causal_offset=1,
    ),
    # convert_ltx_to_diffusers.get_transformer_config("0.9.7")
    "ltx-0.9.7": {
        **_LTX_COMMON,
        "attention_head_dim": 128,
        "cross_attention_dim": 4096,
        "num_layers": 48,
    },
    # get_transformer_config(<any earlier version>)
    "ltx-0.9.0": {
        **_LTX_COMMON,
        "attention_head_dim": 64,
        "cross_attention_dim": 2048,
        "num_layers": 28,
    },
    # convert_wan_to_diffusers.get_transformer_config("Wan2.2-TI2V-5B")["diffusers_config"]
    "wan-2.2-ti2v-5b": dict(
        added_kv_proj_dim=None,
        attention_head_dim=128,
        cross_attn_norm=True,
        eps=1e-06,
        ffn_dim=14336,
        freq_dim=256,
        in_channels=48,
        num_attention_heads=24,
        num_layers=30,
        out_channels=48,
        patch_size=[1, 2, 2],
        qk_norm="rms_norm_across_heads",
        text_dim=4096,
    ),
    # get_transformer_config("Wan-I2V-14B-480p")["diffusers_config"]
    "wan-2.1-i2v-14b-480p": dict(
        image_dim=1280,
        added_kv_proj_dim=5120,
        attention_head_dim=128,
        cross_attn_norm=True,
        eps=1e-06,
        ffn_dim=13824,
        freq_dim=256,
        in_channels=36,
        num_attention_heads=40,
        num_layers=40,
        out_channels=16,
        patch_size=[1, 2, 2],
        qk_norm="rms_norm_across_heads",
        text_dim=4096,
    ),
}

VAE: dict[str, dict[str, Any]] = {
    # convert_ltx2_to_diffusers.get_ltx2_video_vae_config("2.0")
    "ltx-2.0": dict(
        in_channels=3,
        out_channels=3,
        latent_channels=128,
        block_out_channels=(256, 512, 1024, 2048),
        down_block_types=("LTX2VideoDownBlock3D",) * 4,
        decoder_block_out_channels=(256, 512, 1024),
        layers_per_block=(4, 6, 6, 2, 2),
        decoder_layers_per_block=(5, 5, 5, 5),
        spatio_temporal_scaling=(True, True, True, True),
        decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_residual=(True, True, True),
        upsample_factor=(2, 2, 2),
        timestep_conditioning=False,
        patch_size=4,
        patch_size_t=1,
        resnet_norm_eps=1e-6,
        encoder_causal=True,
        decoder_causal=False,
        encoder_spatial_padding_mode="zeros",
        decoder_spatial_padding_mode="reflect",
        spatial_compression_ratio=32,
        temporal_compression_ratio=8,
    ),
    # convert_ltx_to_diffusers.get_vae_config("0.9.7")
    "ltx-0.9.7": dict(
        in_channels=3,
        out_channels=3,
        latent_channels=128,
        block_out_channels=(128, 256, 512, 1024, 2048),
        down_block_types=("LTXVideo095DownBlock3D",) * 4,
        decoder_block_out_channels=(256, 512, 1024),
        layers_per_block=(4, 6, 6, 2, 2),
        decoder_layers_per_block=(5, 5, 5, 5),
        spatio_temporal_scaling=(True, True, True, True),
        decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_residual=(True, True, True),
        upsample_factor=(2, 2, 2),
        timestep_conditioning=True,
        patch_size=4,
        patch_size_t=1,
        resnet_norm_eps=1e-6,
        scaling_factor=1.0,
        encoder_causal=True,
        decoder_causal=False,
        spatial_compression_ratio=32,
        temporal_compression_ratio=8,
    ),
    # get_vae_config("0.9.0")
    "ltx-0.9.0": dict(
        in_channels=3,
        out_channels=3,
        latent_channels=128,
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("LTXVideoDownBlock3D",) * 4,
        decoder_block_out_channels=(128, 256, 512, 512),
        layers_per_block=(4, 3, 3, 3, 4),
        decoder_layers_per_block=(4, 3, 3, 3, 4),
        spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False),
        downsample_type=("conv", "conv", "conv", "conv"),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        patch_size=4,
        patch_size_t=1,
        resnet_norm_eps=1e-6,
        scaling_factor=1.0,
        encoder_causal=True,
        decoder_causal=False,
        timestep_conditioning=False,
    ),
    # convert_wan_to_diffusers.vae22_diffusers_config (statistics omitted: shape-neutral)
    "wan-2.2-ti2v-5b": dict(
        base_dim=160,
        z_dim=48,
        is_residual=True,
        in_channels=12,
        out_channels=12,
        decoder_base_dim=256,
        scale_factor_temporal=4,
        scale_factor_spatial=16,
        patch_size=2,
    ),
    # convert_vae(): AutoencoderKLWan() with its defaults (the Wan 2.1 VAE)
    "wan-2.1-i2v-14b-480p": {},
}

# (spatial, temporal) compression, as the model cards state them.
COMPRESSION: dict[str, tuple[int, int]] = {
    "ltx-2.0": (32, 8),
    "ltx-0.9.7": (32, 8),
    "ltx-0.9.0": (32, 8),
    "wan-2.2-ti2v-5b": (16, 4),
    "wan-2.1-i2v-14b-480p": (8, 4),
}
# Transformer sizes in billions (model cards: LTX-Video 13B / 2B, Wan2.2 TI2V 5B; Wan 2.1
# I2V is the 14B backbone plus image cross-attention).
TRANSFORMER_BILLIONS: dict[str, tuple[float, float]] = {
    "ltx-2.0": (18.5, 19.5),  # "ltx-2-19b"
    "ltx-0.9.7": (12.5, 13.5),
    "ltx-0.9.0": (1.9, 2.1),
    "wan-2.2-ti2v-5b": (4.8, 5.2),
    "wan-2.1-i2v-14b-480p": (16.0, 16.8),
}
# Which release each hub id's diffusers folder holds.
HUB_VERSIONS: dict[str, str] = {
    "Lightricks/LTX-2": "ltx-2.0",
    "Lightricks/LTX-Video-0.9.7-distilled": "ltx-0.9.7",
    "Lightricks/LTX-Video": "ltx-0.9.0",
    "Wan-AI/Wan2.2-TI2V-5B-Diffusers": "wan-2.2-ti2v-5b",
    "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers": "wan-2.1-i2v-14b-480p",
}
# The spatial latent upsampler each LTX two-pass preset's hub folder holds
# (convert_ltx_to_diffusers.get_spatial_latent_upsampler_config("0.9.7"), the
# ``latent_upsampler`` of Lightricks/ltxv-spatial-upscaler-0.9.7).
UPSAMPLER: dict[str, dict[str, Any]] = {
    "Lightricks/ltxv-spatial-upscaler-0.9.7": dict(
        in_channels=128,
        mid_channels=512,
        num_blocks_per_stage=4,
        dims=3,
        spatial_upsample=True,
        temporal_upsample=False,
    ),
}
# Lightricks' configs/ltxv-13b-0.9.7-distilled.yaml (LTX-Video commit 6ff652c), copied
# as the yaml writes it: timesteps are sigmas in 0..1.
DISTILLED_YAML: dict[str, Any] = {
    "pipeline_type": "multi-scale",
    "downscale_factor": 0.6666666,
    "decode_timestep": 0.05,
    "decode_noise_scale": 0.025,
    "first_pass": {"timesteps": [1.0000, 0.9937, 0.9875, 0.9812, 0.9750, 0.9094, 0.7250],
                   "guidance_scale": 1},
    "second_pass": {"timesteps": [0.9094, 0.7250, 0.4219], "guidance_scale": 1},
}  # fmt: skip
# LTX-Video's ltx_video/inference.py defaults (InferenceConfig.image_cond_noise_scale) and
# its pipeline's text_encoder_max_tokens default, neither overridden by the yaml.
INFERENCE_DEFAULTS: dict[str, Any] = {
    "image_cond_noise_scale": 0.15,
    "text_encoder_max_tokens": 256,
}
# configs/ltxv-2b-0.9.yaml (ltx-video-2b-v0.9.safetensors).
LTX_2B_YAML: dict[str, Any] = {
    "guidance_scale": 3,
    "num_inference_steps": 40,
    "decode_timestep": 0.05,
    "decode_noise_scale": 0.025,
}
# LTX-Video's vae_scale_factor, the multiple LTXMultiScalePipeline rounds the first pass to.
LTX_VAE_SCALE_FACTOR = 32
