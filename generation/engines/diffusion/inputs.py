"""What goes into a diffusion call for a shot: its prompt, its photo, and stage timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from generation.spec import ShotSpec

__all__ = ["MOTION_PROMPTS", "StageTimes", "fit_image", "load_image", "prompt_for"]

# Camera wording the models were trained on (film usage: "pan left" = camera moves left).
MOTION_PROMPTS: dict[str, str] = {
    "push_in": "the camera slowly pushes in toward the product",
    "pull_out": "the camera slowly pulls out from the product, revealing more of the scene",
    "pan_left": "the camera pans slowly to the left across the product",
    "pan_right": "the camera pans slowly to the right across the product",
    "detail": "a slow macro close-up drifting across a detail of the product",
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


def load_image(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # Products on transparent backgrounds go onto white, as a studio shot would.
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, (0, 0), rgba)
            return flat
        return image.convert("RGB")


def fit_image(image: Image.Image, width: int, height: int) -> Image.Image:
    """Cover-crop the conditioning photo to the generation size (first frame = the photo)."""
    return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
