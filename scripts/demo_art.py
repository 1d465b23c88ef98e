"""A tiny numpy "studio" used by ``make_demo_images.py`` to draw product packshots.

Everything is computed on full-frame float32 arrays in [0, 1] (sRGB-ish, no colour
management). Shapes are signed distance fields (negative inside, in pixels), which gives
anti-aliased edges for free; lighting is a key light from the upper left, a weak cool fill
from the right, a Blinn-Phong highlight and a rim term.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont

F = NDArray[np.floating[Any]]  # float32 in practice
RGB = tuple[float, float, float]
Color = RGB | F
Normals = tuple[F, F, F]

SIZE = 1024


def _unit(v: tuple[float, float, float]) -> tuple[float, float, float]:
    n = float(np.sqrt(sum(c * c for c in v)))
    return (v[0] / n, v[1] / n, v[2] / n)


LIGHT = _unit((-0.55, -0.65, 0.75))  # x right, y down, z towards the viewer
FILL = _unit((0.8, -0.1, 0.6))
HALF = _unit((LIGHT[0], LIGHT[1], LIGHT[2] + 1.0))


def rgb(code: str) -> F:
    """``"#rrggbb"`` -> float32 array of shape (3,), ready for arithmetic."""
    code = code.lstrip("#")
    return np.array([int(code[i : i + 2], 16) / 255.0 for i in (0, 2, 4)], np.float32)


def mix(a: Color, b: Color, t: F | float) -> F:
    """Linear blend of two colours; ``t`` may be a per-pixel map."""
    t_arr = np.asarray(t, dtype=np.float32)
    if t_arr.ndim == 2:
        t_arr = t_arr[..., None]
    a_arr = np.asarray(a, dtype=np.float32)
    b_arr = np.asarray(b, dtype=np.float32)
    return (a_arr * (1.0 - t_arr) + b_arr * t_arr).astype(np.float32)


class Canvas:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
        self.x: F = xx
        self.y: F = yy
        self.img: F = np.zeros((size, size, 3), np.float32)

    def flat(self, nx: float, ny: float, nz: float) -> Normals:
        """The same normal everywhere (a flat, tilted surface)."""
        ux, uy, uz = _unit((nx, ny, nz))
        return np.full_like(self.x, ux), np.full_like(self.x, uy), np.full_like(self.x, uz)

    def paint(self, color: Color, alpha: F) -> None:
        a = np.clip(alpha, 0.0, 1.0).astype(np.float32)[..., None]
        self.img = (self.img * (1.0 - a) + np.asarray(color, np.float32) * a).astype(np.float32)

    def darken(self, amount: F, tint: RGB = (0.0, 0.0, 0.0)) -> None:
        a = np.clip(amount, 0.0, 1.0)[..., None]
        self.img = self.img * (1.0 - a) + np.asarray(tint, np.float32) * self.img * a

    def save(self, path: Path, seed: int, grain: float = 0.006) -> None:
        rng = np.random.default_rng(seed)
        noise = rng.normal(0.0, grain, (self.size, self.size, 1)).astype(np.float32)
        out = np.clip(self.img + noise, 0.0, 1.0)
        pixels = (out * 255.0 + 0.5).astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels, "RGB").save(path, "JPEG", quality=88, optimize=True)


# --- signed distance fields -------------------------------------------------------------


def coverage(d: F, soft: float = 1.0) -> F:
    return np.clip(0.5 - d / soft, 0.0, 1.0).astype(np.float32)


def sd_circle(c: Canvas, cx: float, cy: float, r: float) -> F:
    return np.hypot(c.x - cx, c.y - cy) - r


def sd_ellipse(c: Canvas, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> F:
    """Approximate distance to an ellipse (exact on the curve, first order near it)."""
    ca, sa = float(np.cos(angle)), float(np.sin(angle))
    u = ((c.x - cx) * ca + (c.y - cy) * sa) / rx
    v = ((c.y - cy) * ca - (c.x - cx) * sa) / ry
    k = np.hypot(u, v) + 1e-6
    grad = np.hypot(u / rx, v / ry) / k + 1e-6
    return ((k - 1.0) / grad).astype(np.float32)


def sd_ring(c: Canvas, cx: float, cy: float, rx: float, ry: float, half: float) -> F:
    """A band of width ``2 * half`` centred on an ellipse."""
    return np.abs(sd_ellipse(c, cx, cy, rx, ry)) - half


def sd_box(c: Canvas, cx: float, cy: float, hw: float, hh: float, r: float = 0.0) -> F:
    qx = np.abs(c.x - cx) - hw + r
    qy = np.abs(c.y - cy) - hh + r
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return (outside + np.minimum(np.maximum(qx, qy), 0.0) - r).astype(np.float32)


def sd_segment(c: Canvas, a: tuple[float, float], b: tuple[float, float], r: float) -> F:
    px, py = c.x - a[0], c.y - a[1]
    bx, by = b[0] - a[0], b[1] - a[1]
    t = np.clip((px * bx + py * by) / (bx * bx + by * by), 0.0, 1.0)
    return (np.hypot(px - bx * t, py - by * t) - r).astype(np.float32)


def sd_superellipse(c: Canvas, cx: float, cy: float, rx: float, ry: float, p: float) -> F:
    k = (np.abs((c.x - cx) / rx) ** p + np.abs((c.y - cy) / ry) ** p) ** (1.0 / p)
    return ((k - 1.0) * min(rx, ry)).astype(np.float32)


# --- surfaces and lighting --------------------------------------------------------------


@dataclass
class Surface:
    alpha: F
    normals: Normals
    u: F  # -1 (left edge) .. 1 (right edge) across a lathe body
    h: F  # the body's own height coordinate (pixels, same scale as y)


def _normalize(nx: F, ny: F, nz: F) -> Normals:
    n = np.sqrt(nx * nx + ny * ny + nz * nz) + 1e-6
    return (nx / n).astype(np.float32), (ny / n).astype(np.float32), (nz / n).astype(np.float32)


def lathe(
    c: Canvas, cx: float, y0: float, y1: float, radius: Callable[[F], F], tilt: float = 0.2
) -> Surface:
    """A surface of revolution seen slightly from above (``tilt`` = ellipse ratio)."""
    r = radius(np.clip(c.y, y0, y1))
    for _ in range(3):
        u = np.clip((c.x - cx) / np.maximum(r, 1e-3), -1.0, 1.0)
        h = c.y - tilt * r * np.sqrt(1.0 - u * u)
        r = radius(np.clip(h, y0, y1))
    u = np.clip((c.x - cx) / np.maximum(r, 1e-3), -1.0, 1.0)
    d = np.maximum.reduce([np.abs(c.x - cx) - r, y0 - h, h - y1])
    slope = (radius(np.clip(h + 1.0, y0, y1)) - radius(np.clip(h - 1.0, y0, y1))) / 2.0
    nz = np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0))
    normals = _normalize(u, -slope * nz, nz)
    return Surface(coverage(d), normals, u.astype(np.float32), h.astype(np.float32))


def sphere_normals(c: Canvas, cx: float, cy: float, rx: float, ry: float) -> Normals:
    nx = np.clip((c.x - cx) / rx, -1.0, 1.0)
    ny = np.clip((c.y - cy) / ry, -1.0, 1.0)
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    return _normalize(nx, ny, nz + 0.02)


def bevel_normals(d: F, radius: float, flat: float = 1.0) -> Normals:
    """Normals of a shape whose edges are rounded over ``radius`` pixels (a soft 'pillow')."""
    t = np.clip(-d / radius, 0.0, 1.0)
    height = radius * flat * np.sqrt(1.0 - (1.0 - t) ** 2)
    gy, gx = np.gradient(height.astype(np.float32))
    return _normalize(-gx, -gy, np.ones_like(gx))


def perturb(n: Normals, dx: F, dy: F) -> Normals:
    return _normalize(n[0] + dx, n[1] + dy, n[2])


def shade(
    base: Color,
    n: Normals,
    *,
    ambient: float = 0.34,
    diffuse: float = 0.72,
    spec: float = 0.3,
    shininess: float = 30.0,
    rim: float = 0.12,
    spec_color: RGB = (1.0, 0.98, 0.95),
) -> F:
    nx, ny, nz = n
    key = np.clip(nx * LIGHT[0] + ny * LIGHT[1] + nz * LIGHT[2], 0.0, 1.0)
    fill = np.clip(nx * FILL[0] + ny * FILL[1] + nz * FILL[2], 0.0, 1.0)
    hl = np.clip(nx * HALF[0] + ny * HALF[1] + nz * HALF[2], 0.0, 1.0) ** shininess
    rim_t = (1.0 - nz) ** 3 * np.clip(0.4 + nx, 0.0, 1.0)
    light = ambient + diffuse * key + 0.22 * fill
    col = np.asarray(base, np.float32) * light[..., None]
    col = col * np.array([1.0, 0.99, 0.97], np.float32)  # warm key, cool shadows
    col += np.array([-0.01, 0.0, 0.015], np.float32) * (1.0 - key)[..., None]
    col += (spec * hl)[..., None] * np.asarray(spec_color, np.float32)
    col += (rim * rim_t)[..., None]
    return col.astype(np.float32)


def strip_highlight(u: F, center: float, width: float, strength: float | F) -> F:
    """A softbox reflection: a vertical glossy strip across a lathe body."""
    return (strength * np.exp(-(((u - center) / width) ** 2))).astype(np.float32)


# --- studio ----------------------------------------------------------------------------


def studio(top: str, bottom: str, horizon: float = 0.64) -> Canvas:
    """A fresh canvas with a seamless paper sweep: wall gradient, brighter floor, vignette.

    ``horizon`` is where the wall meets the floor (fraction of the height); 1.0 gives a
    plain flat-lay gradient.
    """
    c = Canvas()
    t = c.y / c.size
    wall = mix(rgb(top), rgb(bottom), np.clip(t / horizon, 0.0, 1.0) ** 1.2)
    floor_t = 1.0 / (1.0 + np.exp(-(t - horizon) / 0.035))
    floor = mix(rgb(bottom), np.minimum(rgb(bottom) * 1.03, 1.0), (t - horizon) * 2)
    img = mix(wall, floor, floor_t)
    glow = np.exp(
        -(
            ((c.x - c.size * 0.5) / (c.size * 0.45)) ** 2
            + ((c.y - c.size * 0.5) / (c.size * 0.5)) ** 2
        )
    )
    vignette = np.hypot((c.x / c.size - 0.5) * 1.4, (c.y / c.size - 0.48) * 1.2)
    img = img * (0.93 + 0.09 * glow)[..., None] * (1.0 - 0.14 * vignette**2.2)[..., None]
    c.img = img.astype(np.float32)
    return c


def contact_shadow(
    c: Canvas, cx: float, cy: float, rx: float, ry: float, strength: float = 0.5
) -> None:
    core = np.exp(-(((c.x - cx) / rx) ** 2 + ((c.y - cy) / ry) ** 2) * 3.0)
    broad = np.exp(
        -(((c.x - cx - rx * 0.25) / (rx * 1.7)) ** 2 + ((c.y - cy - ry * 0.3) / (ry * 2.6)) ** 2)
        * 1.5
    )
    c.darken(strength * (0.65 * core + 0.35 * broad), tint=(0.2, 0.18, 0.16))


def drop_shadow(c: Canvas, alpha: F, dx: int, dy: int, blur: float, strength: float) -> None:
    im = Image.fromarray((np.clip(alpha, 0, 1) * 255).astype(np.uint8), "L")
    soft = np.asarray(im.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255.0
    soft = np.roll(np.roll(soft, dy, axis=0), dx, axis=1)
    c.darken(strength * soft, tint=(0.2, 0.18, 0.16))


# --- textures ---------------------------------------------------------------------------


def smooth_noise(rng: np.random.Generator, size: int, cells: int, octaves: int = 3) -> F:
    """Fractal value noise in [0, 1]."""
    total = np.zeros((size, size), np.float32)
    amp, norm = 1.0, 0.0
    for i in range(octaves):
        n = cells * 2**i
        small = (rng.random((n, n)) * 255).astype(np.uint8)
        big = Image.fromarray(small, "L").resize((size, size), Image.Resampling.BICUBIC)
        total += amp * np.asarray(big, np.float32) / 255.0
        norm += amp
        amp *= 0.5
    return total / norm


def speckles(rng: np.random.Generator, size: int, density: float, blur: float = 0.8) -> F:
    dots = (rng.random((size, size)) < density).astype(np.uint8) * 255
    im = Image.fromarray(dots, "L").filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(im, np.float32) / 255.0
    return np.clip(arr / max(float(arr.max()), 1e-6) * 1.6, 0.0, 1.0)


def text_mask(c: Canvas, text: str, xy: tuple[float, float], px: int, tracking: float = 0.0) -> F:
    """Anti-aliased text centred on ``xy``; ``tracking`` adds letter spacing (in em)."""
    font = ImageFont.load_default(size=px)
    im = Image.new("L", (c.size, c.size), 0)
    draw = ImageDraw.Draw(im)
    widths = [font.getlength(ch) for ch in text]
    total = sum(widths) + tracking * px * (len(text) - 1)
    x = xy[0] - total / 2.0
    for ch, w in zip(text, widths, strict=True):
        draw.text((x, xy[1]), ch, fill=255, font=font, anchor="lm")
        x += w + tracking * px
    return np.asarray(im, np.float32) / 255.0


def sample(img: F, sx: F, sy: F) -> F:
    """Bilinear lookup of a single-channel image at float pixel coordinates."""
    size = img.shape[0]
    x = np.clip(sx - 0.5, 0.0, size - 1.001)
    y = np.clip(sy - 0.5, 0.0, size - 1.001)
    x0, y0 = x.astype(np.int32), y.astype(np.int32)
    fx, fy = x - x0, y - y0
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def wrap(flat: F, body: Surface, cx: float, r: float) -> F:
    """Wrap a flat artwork map (laid out around x = cx) onto a lathe body of radius ``r``."""
    return sample(flat, cx + r * np.arcsin(body.u), body.h) * body.alpha
