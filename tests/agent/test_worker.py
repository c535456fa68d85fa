"""The worker's assembly pieces that need no room: server options, import without side effects."""

from __future__ import annotations

import subprocess
import sys

from parley_agent.settings import AgentSettings
from parley_agent.worker import prewarm, server_options


def test_server_options_come_from_the_settings() -> None:
    settings = AgentSettings(
        _env_file=None,
        LIVEKIT_URL="ws://127.0.0.1:7999",
        PARLEY_AGENT_NUM_IDLE_PROCESSES=2,
        PARLEY_AGENT_LOAD_THRESHOLD=0.8,
    )
    options = server_options(settings)
    assert options["ws_url"] == "ws://127.0.0.1:7999"
    assert options["setup_fnc"] is prewarm
    assert options["num_idle_processes"] == 2 and options["load_threshold"] == 0.8
    assert "load_fnc" not in options and "port" not in options


def test_never_refusing_for_load_also_reports_no_load() -> None:
    options = server_options(AgentSettings(_env_file=None, PARLEY_AGENT_LOAD_THRESHOLD=1))
    assert options["load_fnc"]() == 0.0


PROBE = """
import copy, importlib, pkgutil, sys
import parley_agent

names = [m.name for m in pkgutil.walk_packages(parley_agent.__path__, "parley_agent.")]
# The worker itself and the two modules that run it.
skip = {"parley_agent.worker", "parley_agent.agent", "parley_agent.__main__"}
modules = [importlib.import_module(n) for n in names if n not in skip]

def registries():
    return {
        (m.__name__, k): copy.copy(v)
        for m in modules for k, v in vars(m).items()
        if isinstance(v, (dict, list, set)) and not k.startswith("__")
    }

before = registries()
import parley_agent.worker
changed = sorted(key for key, value in registries().items() if before[key] != value)
assert not changed, f"importing the worker changed {changed}"
"""


def test_importing_the_worker_mutates_no_other_module() -> None:
    """No registry filled in at import time: a module imported alone (a test, an example)
    behaves as it does inside the worker."""
    subprocess.run([sys.executable, "-c", PROBE], check=True, timeout=120)
