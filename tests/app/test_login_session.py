"""The sign-in cookie is a signed, expiring session, never the API token; /login is rate-limited.

Runs against the whole app (``create_app``) so the wiring from settings is what is tested.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.http_auth import COOKIE_NAME, SESSION_SECONDS, issue_session, session_valid
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.settings import Settings
from reelcart.signing import settings_key

TOKEN = "t0ken-for-sign-in-tests"
PAGE = "/reports/campaigns"


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings.model_validate(
        {"data_dir": tmp_path / "data", "api_token": TOKEN, "login_attempts_per_minute": 5} | extra
    )


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    return _settings(tmp_path, signing_secret="s3cret-signing-key")


@pytest.fixture
def app(app_settings: Settings) -> Iterator[object]:
    db = Database.from_settings(app_settings)
    db.migrate()
    yield create_app(app_settings, db, MediaStore.from_settings(app_settings))
    db.dispose()


def _browser(app: object, address: str = "198.51.100.7") -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 50000))  # type: ignore[arg-type]


def test_cookie_is_a_signed_session_not_the_token(app: object, app_settings: Settings) -> None:
    browser = _browser(app)
    signed = browser.post("/login", data={"token": TOKEN, "next": PAGE})
    assert signed.status_code == 303
    value = signed.cookies[COOKIE_NAME]
    assert TOKEN not in value and TOKEN not in signed.headers["set-cookie"]
    assert session_valid(value, settings_key(app_settings, "session"))
    assert browser.get(PAGE).status_code == 200
    # The cookie opens pages; the API token is still needed to act.
    assert browser.post("/events", json={}).status_code == 401


@pytest.mark.parametrize(
    "forged",
    [
        TOKEN,  # what the cookie used to hold
        "9999999999.nonce.AAAA",
        "expired",
        "",
    ],
)
def test_forged_or_raw_token_cookies_open_nothing(app: object, forged: str) -> None:
    browser = _browser(app)
    browser.cookies.set(COOKIE_NAME, forged)
    assert browser.get(PAGE).status_code == 303  # sent to sign in


def test_sessions_expire_and_cannot_be_extended(app: object, app_settings: Settings) -> None:
    key = settings_key(app_settings, "session")
    assert key is not None
    old = issue_session(key, now=time.time() - SESSION_SECONDS - 5)
    browser = _browser(app)
    browser.cookies.set(COOKIE_NAME, old)
    assert browser.get(PAGE).status_code == 303
    _expiry, nonce, signature = old.split(".")
    browser.cookies.set(COOKIE_NAME, f"{int(time.time()) + 3600}.{nonce}.{signature}")
    assert browser.get(PAGE).status_code == 303
    browser.cookies.set(COOKIE_NAME, issue_session(key))
    assert browser.get(PAGE).status_code == 200


def test_changing_the_signing_secret_ends_every_session(tmp_path: Path) -> None:
    first = _settings(tmp_path, signing_secret="one")
    second = _settings(tmp_path, signing_secret="two")
    key = settings_key(first, "session")
    assert key is not None
    value = issue_session(key)
    assert not session_valid(value, settings_key(second, "session"))


def test_login_is_rate_limited_per_client_address(app: object) -> None:
    guesser = _browser(app, "203.0.113.9")
    answers = [
        guesser.post("/login", data={"token": f"guess-{n}", "next": "/"}).status_code
        for n in range(5)
    ]
    assert answers == [401] * 5
    blocked = guesser.post("/login", data={"token": TOKEN, "next": "/"})
    assert blocked.status_code == 429  # even the right token, until the window passes
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert COOKIE_NAME not in blocked.cookies
    # Someone else, from another address, is not locked out by the guesser.
    other = _browser(app, "198.51.100.8").post("/login", data={"token": TOKEN, "next": "/"})
    assert other.status_code == 303
