"""A campaign chooses its voice; the merchant's speech API comes from the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.speech import SpeechAPI
from flows import common
from flows.generate import campaign_config
from reelcart.domain import CampaignPlan
from reelcart.settings import get_settings

PLAN = CampaignPlan(factors={"hook": ["title"], "aspect": ["9:16", "16:9"]})


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("REELCART_SPEECH_API_URL", "REELCART_SPEECH_API_KEY", "REELCART_VOICE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    common.clear_caches()
    yield monkeypatch
    get_settings.cache_clear()
    common.clear_caches()


def test_api_voice_without_a_service_is_refused_up_front(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    assert campaign_config(PLAN).voice == "auto"
    with pytest.raises(ValueError, match="REELCART_SPEECH_API_URL"):
        campaign_config(PLAN, "api")
    with pytest.raises(ValueError, match="unknown voice"):
        campaign_config(PLAN, "robot")


def test_the_campaign_voice_and_the_configured_service(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    fresh_settings.setenv("REELCART_SPEECH_API_URL", "http://127.0.0.1:9/v1")
    fresh_settings.setenv("REELCART_SPEECH_API_KEY", "sk-secret")
    fresh_settings.setenv("REELCART_SPEECH_VOICE", "nova")
    fresh_settings.setenv("REELCART_VOICE", "festival")
    get_settings.cache_clear()
    config = campaign_config(PLAN)
    assert config.voice == "festival" and config.aspects == ("9:16", "16:9")
    assert isinstance(config.speech, SpeechAPI) and config.speech.voice == "nova"
    assert "sk-secret" not in repr(config)
    assert campaign_config(PLAN, "api").voice == "api"
