"""What every flow needs: settings, the database and the media store, opened once per process."""

from __future__ import annotations

import dataclasses
import os
import socket
from functools import cache

from connectors.speech import SpeechAPI
from connectors.storage import MediaStore
from generation.brand import BrandKit
from generation.provenance import SigningConfig
from generation.storyboard import RenderConfig
from reelcart.db import Database
from reelcart.settings import Settings, get_settings

__all__ = [
    "clear_caches",
    "database",
    "media_store",
    "render_config",
    "settings",
    "worker_name",
]


def settings() -> Settings:
    return get_settings()


@cache
def _database(url: str) -> Database:
    db = Database(url)
    db.migrate()
    return db


def database() -> Database:
    """The app database, migrated to the newest schema."""
    return _database(settings().resolved_database_url)


@cache
def _store(root: str, base_url: str) -> MediaStore:
    return MediaStore(root, base_url)


def media_store() -> MediaStore:
    s = settings()
    return _store(s.resolved_media_url, s.resolved_public_base_url)


def render_config() -> RenderConfig:
    s = settings()
    # Brand kit, voiceover (its voice: generation/voices.py), label and C2PA signing
    # (generation/brand.py, provenance.py).
    brand = BrandKit.load(s.brand_kit_path) if s.brand_kit_path else BrandKit()
    brand = dataclasses.replace(
        brand,
        voiceover=brand.voiceover and s.voiceover,
        ai_label=brand.ai_label if s.ai_label is None else s.ai_label,
    )
    speech = None
    if s.speech_api_url:
        key = s.speech_api_key.get_secret_value() if s.speech_api_key else None
        speech = SpeechAPI(s.speech_api_url, key, model=s.speech_model, voice=s.speech_voice)
    signing = None
    if s.c2pa_cert_path and s.c2pa_key_path:
        signing = SigningConfig(s.c2pa_cert_path, s.c2pa_key_path, alg=s.c2pa_alg)
    return RenderConfig(
        width=s.video_width,
        height=s.video_height,
        fps=s.video_fps,
        shot_seconds=s.shot_seconds,
        end_card_seconds=s.end_card_seconds,
        engine=s.engine,
        brand=brand,
        footage_dir=s.data_dir / "footage",
        signing=signing,
        voice=s.voice,
        speech=speech,
    )


def worker_name() -> str:
    """Who runs this process: ``REELCART_WORKER_NAME`` (set per worker), else the host."""
    return os.environ.get("REELCART_WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"


def clear_caches() -> None:
    """Forget opened databases and stores (tests change the environment between runs)."""
    for cached in (_database, _store):
        cached.cache_clear()
