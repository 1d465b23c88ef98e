"""Render the demo store's product photos procedurally (no downloaded assets).

    python scripts/make_demo_images.py [--only STEM ...] [--out DIR]

Writes 1024x1024 JPEGs (quality 88) to ``reelcart/demo_store/images/``: one function per
product, built from the small numpy "studio" in ``demo_art.py``. Every random choice comes
from a seeded generator, so re-running produces byte-identical files (for the same Pillow,
numpy and libjpeg build).
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_art import (
    Canvas,
    F,
    bevel_normals,
    contact_shadow,
    coverage,
    drop_shadow,
    lathe,
    mix,
    perturb,
    rgb,
    sd_box,
    sd_circle,
    sd_ellipse,
    sd_ring,
    sd_segment,
    sd_superellipse,
    shade,
    smooth_noise,
    speckles,
    sphere_normals,
    strip_highlight,
    studio,
    text_mask,
    wrap,
)

OUT_DIR = Path(__file__).resolve().parent.parent / "reelcart" / "demo_store" / "images"
Backdrop = tuple[str, str]


def render_mug(glaze_hex: str, speck_hex: str, bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg), np.random.default_rng(seed)
    glaze, speck = rgb(glaze_hex), rgb(speck_hex)
    cx, y0, y1, r, tilt = 470.0, 360.0, 760.0, 190.0, 0.24
    contact_shadow(c, cx + 10, y1 + tilt * r * 0.55, r * 1.05, 26, strength=0.55)
    # Handle first, so the body covers its inner end.
    handle = np.maximum(sd_ring(c, cx + r + 18, 555.0, 105.0, 135.0, 19.0), cx + r - 30 - c.x)
    c.paint(shade(glaze, bevel_normals(handle, 19.0), spec=0.45, shininess=50), coverage(handle))

    def radius(h: F) -> F:
        return r - 6.0 * ((h - y0) / (y1 - y0)) ** 2

    body = lathe(c, cx, y0, y1, radius, tilt)
    dots = speckles(rng, c.size, 0.0025)
    base = mix(glaze, speck, dots * 0.85) * (0.94 + 0.1 * smooth_noise(rng, c.size, 6))[..., None]
    foot = np.clip((body.h - (y1 - 26)) / 2.0, 0.0, 1.0)  # unglazed clay ring at the base
    base = mix(base, rgb("#cdb89a"), foot)
    col = shade(base, body.normals, spec=0.55 * (1 - foot), shininess=60, rim=0.1)
    col += (
        strip_highlight(body.u, -0.52, 0.09, 0.35) * (1 - foot)
        + strip_highlight(body.u, 0.82, 0.05, 0.12)
    )[..., None]
    ao = np.clip((body.h - (y1 - 60)) / 60.0, 0, 1) ** 2 * 0.25
    c.paint(col * (1 - ao)[..., None], body.alpha)
    # Opening: the rounded lip, then the inner wall (lit at the back, dark at the front).
    depth = np.clip((c.y - (y0 - r * tilt)) / (2 * r * tilt), 0, 1)
    inside = mix(glaze, speck, dots * 0.6) * (0.95 - 0.55 * depth)[..., None]
    c.paint(
        shade(glaze, c.flat(0, -0.6, 0.8), spec=0.6, shininess=20),
        coverage(sd_ellipse(c, cx, y0, r, r * tilt)),
    )
    c.paint(inside, coverage(sd_ellipse(c, cx, y0 + 2, r - 12, (r - 12) * tilt)))
    return c


def render_bottle(paint_hex: str, bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg), np.random.default_rng(seed)
    paint, dark, steel = rgb(paint_hex), rgb("#2b2c2e"), rgb("#b9bcbf")
    cx, y_cap, y_neck, y_sh, y1, r, tilt = 512.0, 150.0, 250.0, 340.0, 880.0, 118.0, 0.2
    contact_shadow(c, cx + 8, y1 + tilt * r * 0.6, r * 1.1, 20, strength=0.6)

    def body_radius(h: F) -> F:
        t = np.clip((h - y_neck) / (y_sh - y_neck), 0.0, 1.0)
        return 72.0 + (r - 72.0) * (0.5 - 0.5 * np.cos(np.pi * t))

    body = lathe(c, cx, y_neck, y1, body_radius, tilt)
    powder = paint * (0.98 + 0.03 * smooth_noise(rng, c.size, 400, octaves=1))[..., None]
    is_steel = ((body.h > y1 - 34) | (body.h < y_neck + 22)).astype(np.float32)
    col = shade(mix(powder, steel, is_steel), body.normals, spec=0.18, shininess=10, rim=0.08)
    col += (
        strip_highlight(body.u, -0.5, 0.12, 0.16 + 0.5 * is_steel)
        + strip_highlight(body.u, 0.78, 0.06, 0.08 + 0.25 * is_steel)
    )[..., None]
    c.paint(col, body.alpha)
    logo = text_mask(c, "NORTHWIND", (cx, 520), 22, tracking=0.35)
    logo_ink = rgb("#f7f5ed") if paint.mean() < 0.55 else paint * 0.4
    c.paint(mix(paint, logo_ink, 0.85), wrap(logo, body, cx, r) * 0.9)
    # Carry loop, then the knurled cap over it.
    loop = np.maximum(sd_ring(c, cx, y_cap - 8, 48.0, 46.0, 9.0), c.y - y_cap)
    c.paint(shade(dark, bevel_normals(loop, 9.0), spec=0.3), coverage(loop))

    def cap_radius(h: F) -> F:
        return 62.0 + 12.0 * np.sqrt(np.clip((h - y_cap) / (y_neck - y_cap), 0.0, 1.0))

    cap = lathe(c, cx, y_cap, y_neck - 6, cap_radius, tilt)
    knurl = 0.96 + 0.04 * np.cos(cap.u * np.pi * 14)
    cap_col = shade(dark, cap.normals, spec=0.25, shininess=20) * knurl[..., None]
    c.paint(cap_col + strip_highlight(cap.u, -0.5, 0.12, 0.15)[..., None], cap.alpha)
    c.paint(
        shade(rgb("#333436"), c.flat(0, -1, 0.6), spec=0.1),
        coverage(sd_ellipse(c, cx, y_cap, 62.0, 62.0 * tilt)),
    )
    return c


def render_candle(bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg), np.random.default_rng(seed)
    cx, y0, y1, r, tilt = 512.0, 420.0, 790.0, 178.0, 0.22
    contact_shadow(c, cx + 10, y1 + tilt * r * 0.55, r * 1.05, 24, strength=0.55)
    behind = c.img.copy()  # seen through the empty top of the jar

    def radius(h: F) -> F:
        corner = np.clip((h - (y1 - 22.0)) / 22.0, 0.0, 1.0)
        return r - 22.0 * (1.0 - np.sqrt(1.0 - corner**2))

    jar = lathe(c, cx, y0, y1, radius, tilt)
    amber, wax_level = rgb("#6a3210"), y0 + 26.0
    fresnel = (1.0 - jar.normals[2]) ** 1.5
    wax_seen = mix(amber * 1.05, amber * 0.62, fresnel)
    wax_seen *= (0.97 + 0.05 * smooth_noise(rng, c.size, 8))[..., None]
    col = np.where((jar.h < wax_level)[..., None], behind * amber * 1.25, wax_seen)
    col *= (0.8 + 0.35 * np.clip(jar.normals[2], 0, 1))[..., None]
    col += shade((0.0, 0.0, 0.0), jar.normals, spec=0.9, shininess=200, rim=0.2)
    col += (
        strip_highlight(jar.u, -0.56, 0.035, 0.75)
        + strip_highlight(jar.u, -0.45, 0.015, 0.3)
        + strip_highlight(jar.u, 0.86, 0.025, 0.35)
    )[..., None]
    c.paint(col, jar.alpha)
    # Paper label: artwork drawn flat, then wrapped around the jar.
    art = text_mask(c, "NORTHWIND", (cx, 548), 26, tracking=0.32)
    art += text_mask(c, "CEDAR & FIG", (cx, 612), 36, tracking=0.08)
    art += text_mask(c, "SOY WAX CANDLE  ·  8 OZ", (cx, 672), 18, tracking=0.18)
    art += coverage(np.abs(c.y - 580.0) - 0.8) * coverage(np.abs(c.x - cx) - 40.0)
    label = np.maximum(np.abs(r * np.arcsin(jar.u)) - 150.0, np.abs(jar.h - 610.0) - 95.0)
    paper = mix(rgb("#efe7d8"), rgb("#2a2420"), np.clip(wrap(art, jar, cx, r), 0, 1))
    c.paint(
        shade(paper, jar.normals, ambient=0.45, diffuse=0.6, spec=0.05, rim=0.05),
        coverage(label) * jar.alpha,
    )
    # Opening: glass lip, the inside of the jar, the wax surface and a wick.
    c.paint(
        mix(amber * 0.9, rgb("#ffeecc"), np.clip(0.3 - (c.x - cx) / r, 0, 1)),
        coverage(sd_ellipse(c, cx, y0, r, r * tilt)),
    )
    inside = coverage(sd_ellipse(c, cx, y0, r - 9, (r - 9) * tilt))
    c.paint(behind * amber * 1.1, inside)
    wax = np.hypot((c.x - cx) / (r - 10), (c.y - wax_level) / ((r - 10) * tilt))
    wax_col = mix(rgb("#f1e6d0"), rgb("#d9c6a4"), np.clip(wax - 0.3, 0, 1))
    c.paint(wax_col, coverage(sd_ellipse(c, cx, wax_level, r - 10, (r - 10) * tilt)) * inside)
    wick = sd_segment(c, (cx, wax_level), (cx + 4, wax_level - 34), 2.6)
    c.paint(
        mix(rgb("#4a3a2a"), rgb("#111111"), np.clip((wax_level - 20 - c.y) / 8, 0, 1)),
        coverage(wick),
    )
    return c


def render_headphones(shell_hex: str, pad_hex: str, bg: Backdrop) -> Canvas:
    c = studio(*bg)
    shell, pad, steel = rgb(shell_hex), rgb(pad_hex), rgb("#c4c7ca")
    cx, cy, big_r = 512.0, 580.0, 268.0
    for side in (-1, 1):
        contact_shadow(c, cx + side * 262, 912, 70, 14, strength=0.5)
    top_angle = np.degrees(np.abs(np.arctan2(c.x - cx, cy - c.y)))
    cushion = np.maximum(sd_ring(c, cx, cy, big_r - 34, big_r - 34, 16.0), top_angle - 52.0)
    c.paint(shade(pad, bevel_normals(cushion, 16.0), spec=0.35, shininess=35), coverage(cushion))
    band = np.maximum(sd_ring(c, cx, cy, big_r, big_r, 21.0), c.y - cy)
    c.paint(shade(shell, bevel_normals(band, 21.0), spec=0.25, shininess=25), coverage(band))
    for side in (-1, 1):
        sx = cx + side * big_r
        slider_n = (np.clip((c.x - sx) / 7, -1, 1), np.zeros_like(c.x), np.ones_like(c.x))
        c.paint(
            shade(steel, slider_n, spec=0.9, shininess=40),
            coverage(sd_box(c, sx, cy + 40, 7, 50, 4)),
        )
        yoke = np.maximum(sd_ring(c, sx + side * 16, 760, 66, 150, 7.0), 650 - c.y)
        c.paint(shade(steel, bevel_normals(yoke, 7.0), spec=0.8, shininess=30), coverage(yoke))
        ear_pad = sd_box(c, sx - side * 40, 770, 34, 128, 30)
        c.paint(
            shade(pad, bevel_normals(ear_pad, 30.0), spec=0.35, shininess=30), coverage(ear_pad)
        )
        cup = sd_box(c, sx + side * 22, 770, 50, 138, 46)
        c.paint(shade(shell, bevel_normals(cup, 38.0), spec=0.3, shininess=30), coverage(cup))
        c.paint(shell * 0.55, coverage(np.abs(cup + 6.0) - 1.2) * 0.8)  # seam line
    logo = text_mask(c, "NORTHWIND", (cx, cy - big_r + 1), 15, tracking=0.4)
    c.paint(mix(shell, (1.0, 1.0, 1.0), 0.55), logo * 0.8)
    return c


def render_tote(cloth_hex: str, ink_hex: str, bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg), np.random.default_rng(seed)
    cloth, ink = rgb(cloth_hex), rgb(ink_hex)
    cx, top, bottom = 512.0, 430.0, 890.0
    contact_shadow(c, cx + 8, bottom, 230, 16, strength=0.55)
    half = 200.0 + 14.0 * np.clip((c.y - top) / (bottom - top), 0, 1)
    sag = 10.0 * np.cos(np.clip((c.x - cx) / 210.0, -1, 1) * np.pi / 2)
    body = np.maximum(np.abs(c.x - cx) - half, np.maximum(top + sag - c.y, c.y - bottom))
    gy, gx = np.gradient(smooth_noise(rng, c.size, 3, octaves=2) * 30.0)  # soft wrinkles
    normals = perturb(bevel_normals(body, 55.0, flat=0.5), -gx * 0.5, -gy * 0.15)
    weave = 0.5 + 0.25 * (np.cos(c.x * 2.1) + np.cos(c.y * 2.1))
    slub = smooth_noise(rng, c.size, 300, octaves=1)
    base = cloth * (0.96 + 0.04 * weave + 0.03 * slub)[..., None]

    def handle(dy: float, rx: float) -> F:
        return np.maximum(sd_ring(c, cx, top + dy, rx, 250.0, 12.0), c.y - top - 70 - dy)

    back = handle(-22.0, 92.0)
    c.paint(shade(cloth * 0.78, bevel_normals(back, 5.0, 0.4), spec=0.02), coverage(back))
    rear_edge = np.maximum(np.abs(c.x - cx) - 198.0, np.abs(c.y - top + 4.0) - 14.0)
    c.paint(cloth * 0.55 * (0.9 + 0.1 * weave)[..., None], coverage(rear_edge))
    col = shade(base, normals, spec=0.03, shininess=8, rim=0.04)
    hem = np.abs(c.y - top - sag - 44.0) - 1.0
    stitch = (np.abs(c.y - top - sag - 32.0) < 1.2) & (np.mod(c.x, 13.0) < 8.0)
    col *= (1.0 - 0.3 * coverage(hem) - 0.25 * stitch)[..., None]
    art = text_mask(c, "NORTHWIND", (cx, 640), 44, tracking=0.16)
    art += text_mask(c, "GOODS  ·  EST. 2019", (cx, 705), 22, tracking=0.3)
    c.paint(
        mix(col, ink * (0.9 + 0.1 * weave)[..., None], np.clip(art, 0, 1) * 0.92), coverage(body)
    )
    front = handle(0.0, 100.0)
    c.paint(
        shade(cloth * (0.96 + 0.03 * weave)[..., None], bevel_normals(front, 5.0, 0.4), spec=0.03),
        coverage(front),
    )
    for side in (-1, 1):  # box stitching where the straps are sewn on
        box = sd_box(c, cx + side * 100, top + 52, 16, 22, 2)
        c.paint(cloth * 0.7, coverage(np.abs(box + 4.0) - 0.9) * coverage(box))
    return c


def render_planter(bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg), np.random.default_rng(seed)
    cx, y0, y1, tilt = 512.0, 580.0, 860.0, 0.22
    contact_shadow(c, cx + 10, y1 + 18, 130, 18, strength=0.6)
    clay = rgb("#c0653e")
    clay_map = clay * (0.9 + 0.16 * smooth_noise(rng, c.size, 10))[..., None]
    pot = lathe(c, cx, y0, y1, lambda h: 150.0 - 36.0 * (h - y0) / (y1 - y0), tilt)
    c.paint(shade(clay_map, pot.normals, spec=0.06, shininess=8, rim=0.06), pot.alpha)
    rim = lathe(c, cx, 530.0, 592.0, lambda h: np.full_like(h, 168.0), tilt)
    c.paint(shade(clay_map * 1.04, rim.normals, spec=0.06, shininess=8), rim.alpha)
    c.paint(clay * 0.45, coverage(np.abs(pot.h - 596.0) - 2.0) * pot.alpha * 0.6)
    c.paint(
        shade(clay_map, c.flat(0, -1, 0.5), spec=0.05),
        coverage(sd_ellipse(c, cx, 530.0, 168.0, 168.0 * tilt)),
    )
    soil = np.hypot((c.x - cx) / 150.0, (c.y - 538.0) / (150.0 * tilt))
    dirt = mix(rgb("#3a2a1f"), rgb("#5a4432"), speckles(rng, c.size, 0.05, 1.0))
    c.paint(
        dirt * (0.7 + 0.3 * np.clip(soil, 0, 1))[..., None],
        coverage(sd_ellipse(c, cx, 538.0, 150.0, 150.0 * tilt)),
    )
    # A pilea: round leaves on thin stems, painted back to front.
    leaves = []
    for i in range(22):
        ang = -np.pi / 2 + (i / 21.0 - 0.5) * np.pi * 1.45 + rng.normal(0, 0.12)
        reach = rng.uniform(90, 290) * (1.0 - 0.25 * abs(np.cos(ang)))
        lx = cx + np.cos(ang) * reach * 1.1
        ly = 520.0 + np.sin(ang) * reach * 0.95 + rng.uniform(-20, 20)
        leaves.append((rng.uniform(0, 1), lx, ly, rng.uniform(46, 72), rng.uniform(-0.2, 0.2)))
    for depth, lx, ly, lr, hue in sorted(leaves):
        stem = sd_segment(c, (cx + (lx - cx) * 0.15, 548.0), (lx, ly), 2.2)
        c.paint(shade(rgb("#6f8c48"), bevel_normals(stem, 2.2), spec=0.1), coverage(stem))
        facing = c.flat((lx - cx) / 300.0, (ly - 520.0) / 300.0 - 0.35, 1.0)
        n = perturb(facing, -(c.x - lx) / lr * 0.35, -(c.y - ly) / lr * 0.35)  # cupped leaf
        leaf = sd_ellipse(c, lx, ly, lr, lr * (0.62 + 0.3 * depth), np.arctan2(ly - 520, lx - cx))
        dist = np.hypot(c.x - lx, c.y - ly)
        veins = np.cos(np.arctan2(c.y - ly, c.x - lx) * 9.0) ** 40 * np.clip(dist / lr, 0, 1)
        col = shade(
            rgb("#4a8a3a") * (0.8 + 0.3 * depth + hue * 0.3), n, spec=0.18, shininess=14, rim=0.05
        )
        c.paint(
            col * (1.0 + 0.12 * veins + 0.25 * np.exp(-((dist / 6.0) ** 2)))[..., None],
            coverage(leaf),
        )
    return c


def render_watch(strap_hex: str, dial_hex: str, ink_hex: str, bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg, horizon=1.0), np.random.default_rng(seed)
    strap, dial, ink, steel = rgb(strap_hex), rgb(dial_hex), rgb(ink_hex), rgb("#c9ccd0")
    cx, cy, case_r, dial_r = 512.0, 512.0, 196.0, 168.0
    hw = 68.0 - 6.0 * np.clip(np.abs(c.y - cy) / 500.0, 0, 1)
    straps = [
        np.maximum(np.abs(c.x - cx) - hw, np.maximum(y_a - c.y, c.y - y_b))
        for y_a, y_b in ((0.0, cy - 120), (cy + 120, 1024.0))
    ]
    silhouette = np.maximum(coverage(np.minimum(*straps)), coverage(sd_circle(c, cx, cy, 210)))
    drop_shadow(c, silhouette, 12, 20, 14, 0.4)
    leather = strap * (0.93 + 0.1 * smooth_noise(rng, c.size, 120, octaves=2))[..., None]
    away = np.clip((np.abs(c.y - cy) - 260.0) / 260.0, 0, 1)  # the strap curves away
    stitch = (np.abs(np.abs(c.x - cx) - hw + 10.0) < 1.6) & (np.mod(c.y, 15.0) < 9.0)
    for d in straps:
        col = shade(leather, bevel_normals(d, 12.0), spec=0.2, shininess=20)
        col = mix(col * (1.0 - 0.45 * away**1.5)[..., None], rgb("#cfc6b2"), stitch * (1 - away))
        for hole_y in (800.0, 850.0, 900.0):
            col = mix(col, strap * 0.25, coverage(sd_circle(c, cx, hole_y, 6.0)))
        c.paint(col, coverage(d))
    for sx in (-1, 1):
        for sy in (-1, 1):
            lug = sd_box(c, cx + sx * 58, cy + sy * 175, 15, 45, 10)
            c.paint(shade(steel, bevel_normals(lug, 10.0), spec=0.9, shininess=40), coverage(lug))
    crown = sd_box(c, cx + case_r + 10, cy, 14, 22, 5)
    crown_col = shade(steel, bevel_normals(crown, 6.0), spec=0.8, shininess=30)
    c.paint(crown_col * (0.85 + 0.15 * (np.mod(c.y, 5.0) < 2.5))[..., None], coverage(crown))
    case = sd_circle(c, cx, cy, case_r)
    env = 0.75 + 0.35 * np.clip(-(c.y - cy) / case_r - (c.x - cx) / case_r * 0.5, -1, 1)
    c.paint(
        shade(steel * env[..., None], bevel_normals(case, 30.0), spec=1.0, shininess=35, rim=0.3),
        coverage(case),
    )
    radial = np.hypot(c.x - cx, c.y - cy) / dial_r
    c.paint(dial * (1.03 - 0.08 * radial)[..., None], coverage(sd_circle(c, cx, cy, dial_r)))
    angle = np.arctan2(c.x - cx, cy - c.y)
    ticks = (np.abs(np.mod(angle * 30 / np.pi + 0.5, 1.0) - 0.5) < 0.07) & (radial > 0.92)
    c.paint(ink, ticks * coverage(sd_circle(c, cx, cy, dial_r - 4)) * 0.8)
    for i in range(12):
        a, inner = i * np.pi / 6, (118.0 if i % 3 == 0 else 128.0)
        p0 = (cx + np.sin(a) * inner, cy - np.cos(a) * inner)
        p1 = (cx + np.sin(a) * 150, cy - np.cos(a) * 150)
        c.paint(ink, coverage(sd_segment(c, p0, p1, 5.0 if i % 3 == 0 else 3.0)))
    c.paint(ink, text_mask(c, "NORTHWIND", (cx, cy - 66), 19, tracking=0.3))
    c.paint(ink, text_mask(c, "FIELD 38", (cx, cy + 70), 14, tracking=0.3) * 0.8)
    hands = np.zeros_like(c.x)
    for a_deg, length, width in ((305.0, 92.0, 7.0), (60.0, 142.0, 5.0)):  # ten past ten
        a = np.radians(a_deg)
        tip = (cx + np.sin(a) * length, cy - np.cos(a) * length)
        hands = np.maximum(hands, coverage(sd_segment(c, (cx, cy), tip, width)))
    drop_shadow(c, hands, 4, 6, 4, 0.35)
    c.paint(ink * 1.1, hands)
    a = np.radians(215.0)
    sec = sd_segment(
        c,
        (cx - np.sin(a) * 30, cy + np.cos(a) * 30),
        (cx + np.sin(a) * 155, cy - np.cos(a) * 155),
        1.4,
    )
    c.paint(rgb("#c23b22"), np.maximum(coverage(sec), coverage(sd_circle(c, cx, cy, 8))))
    glass = np.exp(-((((c.x - cx + 60) * 0.7 + (c.y - cy + 60) * 0.7) / 55.0) ** 2))
    c.paint((1.0, 1.0, 1.0), glass * coverage(sd_circle(c, cx, cy, dial_r)) * 0.12)
    return c


def render_beanie(yarn_hex: str, bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg), np.random.default_rng(seed)
    yarn = rgb(yarn_hex)
    cx, cuff_top, cuff_bottom, cuff_hw = 512.0, 610.0, 800.0, 252.0
    contact_shadow(c, cx + 8, cuff_bottom + 6, 240, 18, strength=0.55)
    fuzz = smooth_noise(rng, c.size, 200, octaves=1)
    u = np.clip((c.x - cx) / cuff_hw, -1, 1)
    curve = 18.0 * np.sqrt(1 - u * u)  # the cuff's edges bow towards the camera
    # Crown: a squashed dome; the knit columns converge towards the top.
    dome = np.maximum(sd_superellipse(c, cx, 660.0, 236.0, 380.0, 2.3), c.y - cuff_top - 40)
    half = 236.0 * (1.0 - np.clip((660.0 - c.y) / 380.0, 0, 1) ** 2.3) ** (1 / 2.3)
    fx = np.mod((c.x - cx) / np.maximum(half, 1.0) * 16.0, 1.0) - 0.5
    chevron = 0.5 + 0.5 * np.cos(2 * np.pi * (c.y / 13.0 + np.abs(fx) * 0.9))
    knit = (0.82 + 0.18 * chevron) * (1.0 - 0.35 * (2 * np.abs(fx)) ** 6)
    col = shade(
        yarn * (knit * (0.95 + 0.08 * fuzz))[..., None],
        sphere_normals(c, cx, 660.0, 300.0, 420.0),
        spec=0.04,
        shininess=6,
        rim=0.1,
    )
    ao = np.exp(-(((c.y - cuff_top - curve) / 30.0) ** 2))
    c.paint(col * (1.0 - 0.35 * ao)[..., None], coverage(dome))
    # Pom-pom with a fluffy edge.
    ang = np.arctan2(c.y - 262.0, c.x - cx)
    ragged = 3.0 * np.sin(ang * 23.0) + 2.5 * np.sin(ang * 41.0 + 1.0) + 10.0 * fuzz
    pom = np.hypot(c.x - cx, c.y - 262.0) - 82.0 - ragged
    fluff = 0.78 + 0.32 * smooth_noise(rng, c.size, 300, octaves=2)
    c.paint(
        shade(yarn * fluff[..., None], sphere_normals(c, cx, 262.0, 95, 95), spec=0.02, rim=0.15),
        coverage(pom, soft=4.0),
    )
    # Folded, ribbed cuff with a leather patch.
    cuff = sd_box(
        c, cx, (cuff_top + cuff_bottom) / 2 + curve, cuff_hw, (cuff_bottom - cuff_top) / 2, 30.0
    )
    rib_phase = np.arcsin(u) * cuff_hw / 7.0
    cuff_n = perturb(
        (u, np.zeros_like(u), np.sqrt(1 - u * u) + 0.05), np.sin(rib_phase) * 0.6, np.zeros_like(u)
    )
    rows = 0.93 + 0.07 * np.cos(2 * np.pi * (c.y - curve) / 8.0)
    ribs = 0.82 + 0.18 * np.cos(rib_phase) ** 2
    rib_col = yarn * (rows * ribs * (0.95 + 0.08 * fuzz))[..., None]
    fold = 1.0 + 0.25 * np.exp(-(((c.y - cuff_top - curve) / 10.0) ** 2))
    c.paint(shade(rib_col, cuff_n, spec=0.04, shininess=6) * fold[..., None], coverage(cuff))
    patch = sd_box(c, cx, 722.0, 44.0, 28.0, 6.0)
    c.paint(shade(rgb("#9a6a45"), bevel_normals(patch, 4.0), spec=0.2), coverage(patch))
    c.paint(rgb("#5e3b22"), text_mask(c, "NW", (cx, 723), 26, tracking=0.1) * 0.8)
    stitch = (np.abs(sd_box(c, cx, 722.0, 38.0, 22.0, 3.0)) < 1.0) & (np.mod(c.x + c.y, 8) < 4)
    c.paint(rgb("#e5d7bd"), stitch * 0.8)
    return c


def render_sunglasses(frame_hex: str, spots_hex: str, bg: Backdrop, seed: int) -> Canvas:
    c, rng = studio(*bg, horizon=1.0), np.random.default_rng(seed)
    cx, cy = 512.0, 500.0
    lens_d = np.full_like(c.x, 1e6)
    rim_d = np.full_like(c.x, 1e6)
    for side in (-1, 1):  # slightly trapezoidal, rounded-square lenses
        stretch = 1.0 + 0.12 * np.clip((cy - c.y) / 110.0, -1, 1)
        k = (
            np.abs((c.x - cx - side * 192.0) / (136.0 * stretch)) ** 3.2
            + np.abs((c.y - cy) / 102.0) ** 3.2
        ) ** (1 / 3.2)
        lens_d = np.minimum(lens_d, (k - 1.0) * 102.0)
        thickness = 21.0 + 5.0 * np.clip((cy - c.y) / 60.0, -1, 1)  # heavier brow
        rim_d = np.minimum(rim_d, (k - 1.0) * 102.0 - thickness)
    bridge = np.maximum.reduce([sd_ring(c, cx, cy - 40, 52.0, 34.0, 10.0), c.y - cy + 40, -lens_d])
    hinges = np.minimum(
        sd_box(c, cx - 352, cy - 66, 22, 14, 6), sd_box(c, cx + 352, cy - 66, 22, 14, 6)
    )
    frame_d = np.minimum.reduce([np.maximum(rim_d, -lens_d), bridge, hinges])
    drop_shadow(c, np.maximum(coverage(frame_d), coverage(lens_d) * 0.45), 10, 26, 14, 0.45)
    tortoise = np.clip((smooth_noise(rng, c.size, 16) - 0.42) * 6, 0, 1)
    shell = mix(rgb(frame_hex), rgb(spots_hex), tortoise)
    tint = mix(rgb("#1f2925"), rgb("#3f4c44"), np.clip((c.y - 400) / 220, 0, 1))
    reflect = np.exp(-((((c.x - c.y * 0.6) - 300.0) / 70.0) ** 2)) * np.clip((cy - c.y) / 90, 0, 1)
    c.paint(mix(c.img * 0.35, tint, 0.75) + (0.16 * reflect)[..., None] + 0.05, coverage(lens_d))
    c.paint(
        shade(shell, bevel_normals(frame_d, 12.0), spec=0.7, shininess=60, rim=0.15),
        coverage(frame_d),
    )
    for side in (-1, 1):
        stud_x = cx + side * 318
        c.paint(
            shade(rgb("#d4d6d8"), sphere_normals(c, stud_x, cy - 66, 5, 5), spec=0.9),
            coverage(sd_circle(c, stud_x, cy - 66, 5.0)),
        )
    return c


PAPER, LINEN, MIST = ("#e9e2d6", "#f6f1e9"), ("#e7dccd", "#f3ece2"), ("#dcdde0", "#f0f1f2")
PRODUCTS: dict[str, Callable[[], Canvas]] = {
    "stoneware-mug": lambda: render_mug("#ddd0b8", "#5a4634", LINEN, 1),
    "stoneware-mug-2": lambda: render_mug("#56616b", "#d9d4c8", ("#d6d9dc", "#eceef0"), 2),
    "insulated-water-bottle": lambda: render_bottle("#2f5a47", ("#dfe3de", "#f1f2ee"), 3),
    "insulated-water-bottle-2": lambda: render_bottle("#a9c6d6", ("#e6e1da", "#f5f1ec"), 4),
    "soy-candle-cedar-fig": lambda: render_candle(PAPER, 5),
    "over-ear-headphones": lambda: render_headphones("#2b2c30", "#1c1c1f", MIST),
    "canvas-tote-bag": lambda: render_tote("#e6dac2", "#2a3a4a", ("#d9dfe3", "#eef1f2"), 6),
    "canvas-tote-bag-2": lambda: render_tote("#2e2f31", "#e9e2d2", ("#e4ddd3", "#f3efe9"), 7),
    "terracotta-planter": lambda: render_planter(("#e3e6df", "#f3f4f0"), 8),
    "field-watch-38mm": lambda: render_watch(
        "#9a5f33", "#efe9dc", "#22262b", ("#e8e2d8", "#d9d1c4"), 9
    ),
    "merino-beanie": lambda: render_beanie("#cdbd9f", ("#e2e4e6", "#f2f3f4"), 10),
    "merino-beanie-2": lambda: render_beanie("#a4482b", ("#e9e1d5", "#f6f2ec"), 11),
    "polarized-sunglasses": lambda: render_sunglasses(
        "#a0601f", "#2b160a", ("#ece6dc", "#ddd5c8"), 12
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="render just these file stems")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    for stem, render in PRODUCTS.items():
        if args.only and stem not in args.only:
            continue
        path = args.out / f"{stem}.jpg"
        render().save(path, seed=zlib.crc32(stem.encode()))  # grain seed: stable per file
        print(f"{path.name:28s} {path.stat().st_size / 1024:5.0f} KiB")


if __name__ == "__main__":
    main()
