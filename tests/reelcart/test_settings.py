from pathlib import Path

import pytest

from reelcart.settings import Settings


def test_defaults_are_local_and_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "REELCART_DATA_DIR",
        "REELCART_DATABASE_URL",
        "REELCART_HOST",
        "REELCART_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.data_dir == Path(".reelcart")
    assert settings.host == "127.0.0.1"
    assert settings.api_token is None
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith(".reelcart/reelcart.db")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REELCART_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REELCART_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("REELCART_API_TOKEN", "s3cret-token")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "s3cret-token"


def test_secrets_never_show_in_repr_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELCART_API_TOKEN", "s3cret-token")
    monkeypatch.setenv("REELCART_STRIPE_SECRET_KEY", "sk_test_abc")
    settings = Settings()
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "s3cret-token" not in text
        assert "sk_test_abc" not in text
