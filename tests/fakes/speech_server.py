"""A stand-in for OpenAI's speech endpoint on loopback: ``POST /v1/audio/speech``.

Faithful to the protocol as OpenAI documents it: bearer-key auth (401
``invalid_api_key``), a JSON body with required ``model``, ``input`` (at most 4096
characters) and ``voice``, an optional ``response_format`` and ``speed`` (0.25 to 4.0),
errors as ``{"error": {"message", "type", "param", "code"}}`` with status 400, and the
audio as the response body. The voice behind it is espeak-ng (a different one than the
app's own), so what comes back is real speech whose length follows the text and the
speed. Formats other than ``wav`` and ``pcm`` are refused here: this stand-in has no
MP3 or Opus encoder. Every accepted request is kept for the test to read.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

__all__ = ["SpeechServer", "run_speech_server"]

_FORMATS = {"mp3", "opus", "aac", "flac", "wav", "pcm"}
_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage",
           "shimmer", "verse", "marin", "cedar"}  # fmt: skip


def _error(status: int, message: str, param: str | None, code: str | None) -> Response:
    kind = "invalid_request_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    response = jsonify(body)
    response.status_code = status
    return response


@dataclass
class SpeechServer:
    """The stand-in's state: its key, the requests it served, and a switch to fail."""

    api_key: str = "sk-test-speech"
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None
    url: str = ""
    app: Flask = field(init=False)

    def __post_init__(self) -> None:
        self.app = Flask("speech-stand-in")
        self.app.add_url_rule("/v1/audio/speech", view_func=self._speech, methods=["POST"])

    def _speech(self) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", None, "invalid_api_key")
        if self.fail_with is not None:
            return _error(self.fail_with, "The server had an error.", None, None)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(400, "We could not parse the JSON body of your request.", None, None)
        for name in ("model", "input", "voice"):
            if not isinstance(body.get(name), str) or not body[name]:
                return _error(400, f"Missing required parameter: '{name}'.", name, None)
        if len(body["input"]) > 4096:
            return _error(400, "'input' is too long: at most 4096 characters.", "input", None)
        if body["voice"] not in _VOICES:
            return _error(400, f"Invalid value for 'voice': {body['voice']!r}.", "voice", None)
        speed = body.get("speed", 1.0)
        if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
            return _error(400, "'speed' must be between 0.25 and 4.0.", "speed", None)
        fmt = body.get("response_format", "mp3")
        if fmt not in _FORMATS:
            message = f"Invalid value for 'response_format': {fmt!r}."
            return _error(400, message, "response_format", None)
        if fmt not in ("wav", "pcm"):
            return _error(400, f"This stand-in cannot encode {fmt}.", "response_format", None)
        self.requests.append(dict(body))
        done = subprocess.run(
            ["espeak-ng", "-v", "en-gb", "-s", str(round(175 * speed)), "--stdin", "--stdout"],
            input=body["input"].encode(),
            capture_output=True,
            timeout=30,
            check=True,
        )
        if fmt == "pcm":  # raw samples, the WAV header cut off
            return Response(done.stdout[44:], mimetype="audio/pcm")
        return Response(done.stdout, mimetype="audio/wav")

    def set_url(self, url: str) -> None:
        self.url = url


@contextmanager
def run_speech_server(api_key: str = "sk-test-speech") -> Iterator[SpeechServer]:
    """A :class:`SpeechServer` on 127.0.0.1 (an ephemeral port) for the block."""
    state = SpeechServer(api_key)
    httpd = make_server("127.0.0.1", 0, state.app, threaded=True)
    state.set_url(f"http://127.0.0.1:{httpd.server_port}/v1")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
