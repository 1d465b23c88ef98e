"""A hosted text-to-speech service the merchant configures: OpenAI's speech protocol.

``POST {base_url}/audio/speech`` with a bearer key and ``{"model", "input", "voice",
"response_format": "wav", "speed"}`` returns the spoken audio as WAV. OpenAI itself
(``https://api.openai.com/v1``) and the many servers speaking the same protocol
(self-hosted ones included) all fit. The key comes from the environment and never
appears in a log or an error.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

__all__ = ["SpeechAPI", "SpeechAPIError"]

# The protocol's bounds on the reading speed and on the text of one request.
_SPEED_RANGE = (0.25, 4.0)
_MAX_INPUT = 4096


class SpeechAPIError(RuntimeError):
    """The speech service refused or failed a request (its host and reason, no secrets)."""


class SpeechAPI:
    """Client of one OpenAI-compatible speech endpoint (see the module docstring).

    ``name`` is the service's host, for manifests and logs.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        model: str = "gpt-4o-mini-tts",
        voice: str = "alloy",
        timeout_s: float = 30.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"speech API URL must be http(s)://host/..., got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.name = parts.netloc
        self.model, self.voice, self.timeout_s = model, voice, timeout_s
        self._key = api_key

    def __repr__(self) -> str:  # the key stays out of reprs (and so out of logs)
        return f"SpeechAPI({self.base_url!r}, model={self.model!r}, voice={self.voice!r})"

    def speak(self, text: str, speed: float = 1.0) -> bytes:
        """``text`` spoken at ``speed`` (1.0 normal; clamped to the protocol's range), WAV."""
        if not text.strip():
            raise ValueError("nothing to say")
        if len(text) > _MAX_INPUT:
            raise ValueError(f"a speech request holds at most {_MAX_INPUT} characters")
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        body = {
            "model": self.model,
            "input": text,
            "voice": self.voice,
            "response_format": "wav",
            "speed": round(min(max(speed, _SPEED_RANGE[0]), _SPEED_RANGE[1]), 3),
        }
        try:
            response = httpx.post(
                f"{self.base_url}/audio/speech", json=body, headers=headers, timeout=self.timeout_s
            )
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            raise SpeechAPIError(f"speech API {self.name} unreachable: {reason}") from None
        if response.status_code != 200:
            raise SpeechAPIError(
                f"speech API {self.name} answered {response.status_code}: {_reason(response)}"
            )
        return response.content


def _reason(response: httpx.Response) -> str:
    """The service's own error message (OpenAI's ``{"error": {"message": ...}}``)."""
    try:
        error = response.json().get("error")
    except ValueError:
        return response.reason_phrase
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"][:300]
    return response.reason_phrase
