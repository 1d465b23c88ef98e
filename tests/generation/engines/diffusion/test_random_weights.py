"""Random-weight builds match what ``from_pretrained`` loads: dtypes module by module."""

from __future__ import annotations

from pathlib import Path

import torch

from generation.engines.diffusion.presets import get_preset
from generation.engines.diffusion.random_weights import build_module, build_transformer

# A toy Wan transformer: every module kind of the full one (rope, time embedder,
# scale-shift tables, cross-attention norms), a few thousand parameters.
_TOY_WAN = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=2,
    attention_head_dim=12,
    in_channels=16,
    out_channels=16,
    text_dim=32,
    freq_dim=256,
    ffn_dim=32,
    num_layers=2,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    rope_max_seq_len=32,
)


def _dtypes(module: torch.nn.Module) -> dict[str, torch.dtype]:
    tensors = [*module.named_parameters(), *module.named_buffers()]
    return {name: tensor.dtype for name, tensor in tensors}


def test_random_wan_keeps_float32_where_loading_does(tmp_path: Path) -> None:
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    WanTransformer3DModel(**_TOY_WAN).save_pretrained(tmp_path)
    loaded = WanTransformer3DModel.from_pretrained(tmp_path, dtype=torch.bfloat16)
    built = build_module(WanTransformer3DModel, _TOY_WAN, "cpu", torch.bfloat16)
    reference = _dtypes(loaded)
    assert _dtypes(built) == reference
    kept = {name for name, dtype in reference.items() if dtype == torch.float32}
    assert any(".norm2." in n for n in kept) and any("time_embedder" in n for n in kept)
    assert any("scale_shift_table" in n for n in kept)
    assert any(dtype == torch.bfloat16 for dtype in reference.values())  # the rest is bf16


def test_full_size_wan_keeps_the_same_modules_in_float32_on_meta() -> None:
    built = build_transformer(get_preset("wan2.2-ti2v-5b"), "meta", torch.bfloat16)
    keep = set(built._keep_in_fp32_modules)
    for name, param in built.named_parameters():
        wanted = torch.float32 if keep & set(name.split(".")) else torch.bfloat16
        assert param.dtype == wanted, name
    assert any(p.dtype == torch.float32 for p in built.parameters())


def test_full_size_text_encoders_are_t5_xxl_on_meta() -> None:
    from transformers import T5EncoderModel, UMT5EncoderModel

    from generation.engines.diffusion.random_weights import build_text_encoder, parameter_count

    ltx = build_text_encoder(get_preset("ltx-video-i2v"), "meta", torch.bfloat16)
    wan = build_text_encoder(get_preset("wan2.2-ti2v-5b"), "meta", torch.bfloat16)
    assert isinstance(ltx, T5EncoderModel) and isinstance(wan, UMT5EncoderModel)
    # T5 v1.1 XXL's encoder: 24 layers of 4096-wide attention (4 x 4096^2) and a gated
    # 10240-wide feed-forward (3 x 4096 x 10240), two norms each, a final norm, and the
    # 32128-token embedding; 4.76 B parameters, 8.9 GiB in bf16.
    d, ff, layers = 4096, 10240, 24
    relative = 32 * 64  # the first layer's relative position buckets x heads
    by_hand = layers * (4 * d * d + 3 * d * ff + 2 * d) + d + 32128 * d + relative
    assert parameter_count(ltx) == by_hand
    assert 8.8 < parameter_count(ltx) * 2 / 2**30 < 9.0
    assert all(p.is_meta and p.dtype == torch.bfloat16 for p in ltx.parameters())
    # UMT5 has relative buckets in every layer and a 256,384-token vocabulary.
    assert parameter_count(wan) == by_hand - 32128 * d + 256384 * d + (layers - 1) * relative


def test_a_materialised_text_encoder_is_finite_where_it_is_built() -> None:
    from generation.engines.diffusion.random_weights import build_text_encoder

    # The same builder, narrowed to two layers of width 64 to stay small on a CPU.
    narrow = dict(d_model=64, d_kv=8, d_ff=128, num_layers=2, num_heads=8, vocab_size=100)
    encoder = build_text_encoder(get_preset("ltx-video-i2v"), "cpu", torch.float32, **narrow)
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in encoder.parameters())
    out = encoder(torch.tensor([[5, 6, 7, 1]])).last_hidden_state
    assert out.shape == (1, 4, 64) and torch.isfinite(out).all()
