"""The merchant's hosted speech API: OpenAI's protocol, against a stand-in on loopback.

OpenAI's own Python client checks the stand-in speaks the protocol; then the app's
client, and a whole render voiced through it, with espeak-ng taking over when the
service fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from connectors.speech import SpeechAPI, SpeechAPIError
from generation.audio import SAMPLE_RATE
from generation.engines.motion import MotionEngine
from generation.render import render_creative
from generation.storyboard import RenderConfig, storyboard
from generation.voices import choose_voice, decode_wav
from tests.fakes.speech_server import SpeechServer, run_speech_server
from tests.generation.demo_jobs import demo_job, demo_products


@pytest.fixture
def server() -> Iterator[SpeechServer]:
    with run_speech_server() as running:
        yield running


def test_the_stand_in_speaks_openais_protocol(server: SpeechServer) -> None:
    client = openai.OpenAI(base_url=server.url, api_key=server.api_key, max_retries=0)
    reply = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="coral", input="Memory-foam ear cushions",
        response_format="wav", speed=1.25,
    )  # fmt: skip
    audio = decode_wav(reply.read())
    assert audio is not None and 0.3 * SAMPLE_RATE < len(audio) < 3 * SAMPLE_RATE
    assert server.requests[-1]["speed"] == 1.25 and server.requests[-1]["voice"] == "coral"
    wrong = openai.OpenAI(base_url=server.url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.audio.speech.create(model="m", voice="coral", input="hi")
    with pytest.raises(openai.BadRequestError, match="speed"):
        client.audio.speech.create(model="m", voice="coral", input="hi", speed=9)


def test_the_client_sends_the_merchants_choices_and_hides_the_key(server: SpeechServer) -> None:
    api = SpeechAPI(server.url, server.api_key, model="tts-1-hd", voice="nova")
    wav = api.speak("Recharge over USB-C.", speed=9.0)
    assert decode_wav(wav) is not None
    sent = server.requests[-1]
    assert sent == {
        "model": "tts-1-hd", "input": "Recharge over USB-C.", "voice": "nova",
        "response_format": "wav", "speed": 4.0,  # clamped to the protocol's range
    }  # fmt: skip
    assert server.api_key not in repr(api)
    bad = SpeechAPI(server.url, "sk-leaked-if-logged", voice="nova")
    with pytest.raises(SpeechAPIError) as refused:
        bad.speak("hi")
    assert "401" in str(refused.value) and "Incorrect API key" in str(refused.value)
    assert "sk-leaked-if-logged" not in str(refused.value)
    assert "127.0.0.1" in str(refused.value)
    with pytest.raises(ValueError, match="http"):
        SpeechAPI("ftp://example", None)


def test_a_campaign_voiced_by_the_api_falls_back_to_espeak(
    server: SpeechServer, tmp_path: Path
) -> None:
    product = next(p for p in demo_products() if p["handle"] == "over-ear-headphones")
    spec = storyboard(demo_job(product, {"duration": "6s"}), RenderConfig(72, 128, fps=8))
    api = SpeechAPI(server.url, server.api_key, voice="nova")
    voiced = render_creative(
        spec, tmp_path, MotionEngine(), "api", tts=choose_voice("api", client=api), preview=False
    )
    audio = voiced.manifest["audio"]
    assert audio["voiceover"] == f"api:{api.name}"
    assert audio["lines_spoken"] == len(spec.lines)
    said = {r["input"] for r in server.requests}
    assert {"Over-Ear Wireless Headphones", "Shop now"} <= said
    server.fail_with = 500
    fallback = render_creative(
        spec, tmp_path, MotionEngine(), "down", tts=choose_voice("api", client=api), preview=False
    )
    assert fallback.manifest["audio"]["voiceover"] == "espeak-ng"
    assert fallback.manifest["audio"]["lines_spoken"] == len(spec.lines)
