"""Which ``.env`` a process reads (parley_common.env_file), and the precedence through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley_agent.settings import AgentSettings
from parley_common.env_file import EnvFileError, find_env_file


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "agent").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    return root


def test_walks_up_from_a_subdirectory_to_the_root_env(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / ".env").write_text("DEEPGRAM_API_KEY=from-root\n")
    assert find_env_file(root / "agent", environ={}) == root / ".env"


def test_never_climbs_above_the_project_root(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (tmp_path / ".env").write_text("OPENAI_API_KEY=stray\n")  # e.g. ~/.env
    assert find_env_file(root / "agent", environ={}) is None


def test_explicit_file_wins_and_empty_means_none(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / ".env").write_text("A=1\n")
    other = tmp_path / "other.env"
    other.write_text("A=2\n")
    assert find_env_file(root / "agent", environ={"PARLEY_ENV_FILE": str(other)}) == other
    assert find_env_file(root / "agent", environ={"PARLEY_ENV_FILE": ""}) is None
    assert find_env_file(root / "agent", environ={"PARLEY_ENV_FILE": "none"}) is None
    with pytest.raises(EnvFileError, match="does not exist"):
        find_env_file(root, environ={"PARLEY_ENV_FILE": str(tmp_path / "typo.env")})


def test_environment_beats_the_file_which_beats_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PARLEY_DEEPGRAM_MODEL=from-file\nPARLEY_CARTESIA_MODEL=from-file\n")
    monkeypatch.setenv("PARLEY_DEEPGRAM_MODEL", "from-env")
    monkeypatch.delenv("PARLEY_CARTESIA_MODEL", raising=False)
    monkeypatch.delenv("PARLEY_OPENAI_LLM_MODEL", raising=False)
    settings = AgentSettings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.deepgram_model == "from-env"
    assert settings.cartesia_model == "from-file"
    assert settings.openai_llm_model == "gpt-4.1-mini"  # the default
