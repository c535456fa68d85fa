"""`.env.example` documents every setting, and a copy of it is a working configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from parley_agent.settings import AgentSettings
from parley_backend.settings import BackendSettings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _aliases(model: type) -> set[str]:
    return {f.alias for f in model.model_fields.values() if f.alias}


@pytest.mark.parametrize("model", [AgentSettings, BackendSettings])
def test_every_setting_is_documented(model: type) -> None:
    documented = set(dotenv_values(EXAMPLE))
    missing = sorted(_aliases(model) - documented)
    assert not missing, f"{model.__name__} settings missing from .env.example: {missing}"


@pytest.mark.parametrize("model", [AgentSettings, BackendSettings])
def test_a_copy_of_the_example_loads(
    model: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(EXAMPLE.read_text())
    for name in dotenv_values(EXAMPLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    model()  # empty values in the example mean "use the default"
