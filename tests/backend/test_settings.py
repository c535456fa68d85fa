"""The backend's settings: .env.example as shipped must load, empty values mean defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley_backend.settings import BackendSettings

REPO = Path(__file__).resolve().parents[2]


def test_env_example_loads_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "PARLEY_DATA_DIR", "PARLEY_ENV", "PARLEY_TOKEN_OPEN"):
        monkeypatch.delenv(name, raising=False)
    settings = BackendSettings(_env_file=REPO / ".env.example")
    assert settings.database_url is None
    assert settings.data_dir == Path.cwd() / "data"  # the working directory, not the code
    assert settings.environment == "development" and settings.token_endpoint_open
    assert settings.token_rate_per_minute == 120 and settings.token_rate_burst == 20
    assert settings.meeting_audio_frequency == 16000


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("PARLEY_API_KEYS", " k1 , k2,,")
    monkeypatch.setenv("PARLEY_TOKEN_API_KEYS", "f1")
    monkeypatch.setenv("MEETING_BAAS_AUDIO_FREQUENCY", "24000")
    settings = BackendSettings(_env_file=None)
    assert settings.api_key_set == {"k1", "k2"}
    assert settings.token_key_set == {"k1", "k2", "f1"}
    assert not settings.token_endpoint_open
    assert settings.meeting_audio_frequency == 24000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARLEY_TOKEN_TTL_SECONDS", "7200"),
        ("PARLEY_TOKEN_RATE_PER_MINUTE", "0"),
        ("PARLEY_ENV", "staging"),
        ("MEETING_BAAS_AUDIO_FREQUENCY", "22050"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):  # the message names the variable
        BackendSettings(_env_file=None)
