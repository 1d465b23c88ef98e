"""Loading a preset's pipeline: plan first, then weights, then placement and options.

The order matters on a GPU: the placement and the batch size are chosen from the free memory
*before* anything is loaded (:func:`generation.engines.diffusion.devices.plan_device`), the
weights are loaded in the plan's dtypes (float32 where the model authors run a component in
float32), the preset's call arguments are checked against the pipeline's signature, and only
then are the speed options applied. ``bench/generation.py --random-init`` and
``bench/gpu_check.py`` go through the same function with a loader that builds random weights, so
they measure what production runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from generation.engines.diffusion.devices import (
    DevicePlan,
    Placement,
    apply_placement,
    load_dtypes,
    park_text_encoder,
    plan_device,
)
from generation.engines.diffusion.presets import (
    ModelPreset,
    ModelWeightsMissing,
    missing_weights_message,
    resolve_source,
)

from .pipes import check_call_kwargs
from .speed import Applied, SpeedOptions, apply_speed_options
from .two_pass import load_upsampler, upsample_pipeline

__all__ = ["Loaded", "Loader", "load_pipeline", "load_planned"]

log = logging.getLogger(__name__)

Loader = Callable[..., Any]


def load_pipeline(
    cls_name: str,
    source: str,
    *,
    local_files_only: bool,
    dtype: torch.dtype | dict[str, torch.dtype],
    device: torch.device | None = None,
) -> Any:
    """``diffusers.<cls_name>.from_pretrained(source)``: the one place weights are loaded.

    ``device`` is where the plan will place the pipeline; ``from_pretrained`` loads to
    the host and placement moves it (a random-weight loader builds there directly).
    """
    import diffusers

    del device
    cls = getattr(diffusers, cls_name)
    return cls.from_pretrained(source, dtype=dtype, local_files_only=local_files_only)


@dataclass
class Loaded:
    """A loaded, placed pipeline with its plan and what was applied to it."""

    pipe: Any
    plan: DevicePlan
    applied: Applied
    load_s: float = 0.0
    # The latent upsampler pipeline of a two-pass preset (sharing ``pipe``'s VAE).
    upsample: Any = None


def load_planned(
    preset: ModelPreset,
    *,
    model_dir: Path | None,
    device: str | None,
    loader: Loader,
    options: SpeedOptions,
    placement: Placement | None = None,
) -> Loaded:
    """Plan from free memory, load in the plan's dtypes, check call arguments, place."""
    plan = plan_device(preset, device, placement)
    if getattr(loader, "needs_weights", True):
        source, local_only = resolve_source(preset, model_dir)
    else:  # a loader that builds the modules itself (random weights)
        source, local_only = preset.model_id or preset.name, True
    target = plan.device if plan.placement == "resident" else torch.device("cpu")
    try:
        pipe = loader(
            preset.i2v_pipeline,
            source,
            local_files_only=local_only,
            dtype=load_dtypes(preset, plan),
            device=target,
        )
    except (OSError, ValueError) as exc:
        # huggingface_hub raises OSError subclasses for missing repos/files.
        raise ModelWeightsMissing(
            f"{missing_weights_message(preset, model_dir)}\n(cause: {exc})"
        ) from exc
    check_call_kwargs(pipe, preset)
    pipe.set_progress_bar_config(disable=True)
    apply_placement(pipe, plan)
    park_text_encoder(pipe, plan)  # on the device only while prompts are encoded
    applied = apply_speed_options(pipe, preset, plan, options)
    placed = [plan.placement, f"batch={plan.batch}"] + (["vae_tiling"] if plan.vae_tiling else [])
    if plan.text_encoder_home is not None:
        placed.append(f"text_encoder_parked_on_{plan.text_encoder_home.type}")
    upsample = None
    if preset.two_pass is not None:
        # A random-weight loader builds the upsampler too; otherwise it is loaded from
        # the hub folder (or the model folder) in the plan's dtype, onto the plan's device.
        build = getattr(loader, "upsampler", None)
        if build is not None:
            upsampler = build(plan.dtype, plan.device)
        else:
            upsampler = load_upsampler(preset, model_dir, plan.dtype, plan.device)
        upsample = upsample_pipeline(pipe, upsampler, plan.device, plan.dtype)
        placed.append("two_pass")
    applied.names[:0] = placed
    log.info("loaded %s on %s (%s)", preset.name, plan.device, ", ".join(applied.names))
    return Loaded(pipe, plan, applied, upsample=upsample)
