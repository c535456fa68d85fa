"""The shared dispatch-metadata schema: strict at the backend edge, lenient in the worker."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from parley_common.agent_config import MAX_METADATA_BYTES, AgentConfig, parse_agent_config


def test_empty_metadata_means_defaults() -> None:
    for raw in (None, "", "   "):
        config, problem = parse_agent_config(raw)
        assert problem is None
        assert config == AgentConfig()


def test_round_trip_through_metadata() -> None:
    config = AgentConfig(persona="pirate", language="es", mode="meeting", tools=["weather"])
    parsed, problem = parse_agent_config(config.to_metadata())
    assert problem is None
    assert parsed == config


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('"hello"', "JSON object"),
        ("x" * (MAX_METADATA_BYTES + 1), "larger than"),
    ],
)
def test_unusable_metadata_gives_defaults_and_a_reason(raw: str, reason: str) -> None:
    config, problem = parse_agent_config(raw)
    assert config == AgentConfig()
    assert problem is not None and reason in problem


def test_bad_fields_are_dropped_and_good_ones_kept() -> None:
    raw = json.dumps({"persona": "concise expert", "mode": "karaoke", "tools": ["rm -rf"]})
    config, problem = parse_agent_config(raw)
    assert config.persona == "concise expert"
    assert config.mode == "conversation"
    assert problem is not None and "mode" in problem and "tools" in problem


def test_strict_validation_for_callers() -> None:
    with pytest.raises(ValidationError):
        AgentConfig.model_validate({"language": "english please"})
    with pytest.raises(ValidationError):
        AgentConfig.model_validate({"unknown_field": 1})


def test_greeting_depends_on_mode() -> None:
    assert "help" in AgentConfig().default_greeting()
    assert "Say my name" in AgentConfig(mode="meeting").default_greeting()
    assert AgentConfig(greeting="Ahoy").default_greeting() == "Ahoy"
