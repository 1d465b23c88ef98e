"""The quality gate: automated checks every rendered creative must pass to be published.

- overlays never cover the product (on sampled frames, the product found afresh);
- no caption cue overlaps another (read from the written WebVTT file);
- no text box leaves the frame and no string is cut;
- the file's duration is the plan's, to within one frame;
- integrated loudness is -14 LUFS ± 1 (EBU R128, ``pyloudnorm``) with no clipping;
- no black or frozen stretch;
- the price drawn reads back as the catalog's ("from" the cheapest when variants differ).
"""

from generation.quality.gate import expected_texts, run_gate
from generation.quality.price import CatalogPrice, ShownPrice, read_price
from generation.quality.probe import FrameWatch, decode_audio
from generation.quality.report import Check, QualityReport, qa_markdown
from generation.quality.rules import (
    LOUDNESS_TARGET_LUFS,
    LOUDNESS_TOLERANCE_LU,
    Cue,
    FrameSample,
    Text,
    parse_vtt,
)

__all__ = [
    "LOUDNESS_TARGET_LUFS",
    "LOUDNESS_TOLERANCE_LU",
    "CatalogPrice",
    "Check",
    "Cue",
    "FrameSample",
    "FrameWatch",
    "QualityReport",
    "ShownPrice",
    "Text",
    "decode_audio",
    "expected_texts",
    "parse_vtt",
    "qa_markdown",
    "read_price",
    "run_gate",
]
