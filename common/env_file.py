"""Which ``.env`` file a Parley process reads: one rule for the worker, backend and scripts.

Order of precedence stays pydantic-settings' own: real environment > this file > defaults.
This module only decides *which* file, the same way in every process:

1. ``PARLEY_ENV_FILE`` set to a path: that file (an error if it does not exist, so a typo
   is not silently ignored); set but empty, or ``none``: no file at all (tests, benchmarks).
2. Otherwise walk up from the working directory and take the first ``.env`` found, but do
   not climb above the project root (the first directory holding ``pyproject.toml`` or
   ``.git``): ``cd agent && python agent.py start`` finds the repo root's ``.env``, and a
   stray ``~/.env`` above a checkout is never read.

It does not look at ``__file__``: installed non-editable (containers), that points into
site-packages, far from the user's configuration. In a container set ``PARLEY_ENV_FILE``,
or mount the file in the working directory or one of its parents up to the project root.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "PARLEY_ENV_FILE"
_ROOT_MARKERS = ("pyproject.toml", ".git")


class EnvFileError(RuntimeError):
    """``PARLEY_ENV_FILE`` names a file that does not exist."""


def find_env_file(start: Path | None = None, environ: dict[str, str] | None = None) -> Path | None:
    """The ``.env`` this process should read, or None for none."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_VAR)
    if explicit is not None:
        if explicit.strip().lower() in ("", "none"):
            return None
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise EnvFileError(f"{ENV_VAR}={explicit} does not exist")
        return path.resolve()
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / ".env"
        if candidate.is_file():
            return candidate
        if any((directory / marker).exists() for marker in _ROOT_MARKERS):
            return None
    return None


def describe_env_file(path: Path | None) -> str:
    """For start-up lines: where the configuration came from (never its contents)."""
    if path is not None:
        return f"config from {path}"
    if os.environ.get(ENV_VAR) is not None:
        return f"no .env ({ENV_VAR} is empty)"
    return "no .env found (environment and defaults only)"
