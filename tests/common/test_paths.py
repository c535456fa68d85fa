"""File locations survive a non-editable install: no default points into the code.

A wheel install puts the packages in site-packages; a default derived from ``__file__`` would
then write the database, the history spool or model downloads there (read-only, or shared by
every project of that interpreter). This checks the defaults without installing anything:
in a fresh process, in an empty working directory, with no PARLEY_* variables set.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("agent", "backend", "common")

_PROBE = """
import json, sysconfig
from pathlib import Path
import parley_agent, parley_backend, parley_common
from parley_agent.settings import AgentSettings
from parley_backend.settings import BackendSettings

agent = AgentSettings(_env_file=None)
backend = BackendSettings(_env_file=None)
paths = {
    f"{type(s).__name__}.{name}": str(getattr(s, name))
    for s in (agent, backend)
    for name, field in type(s).model_fields.items()
    if "Path" in str(field.annotation) and getattr(s, name) is not None
}
paths["AgentSettings.spool_dir"] = str(agent.spool_dir)
paths["AgentSettings.model_cache_dir"] = str(agent.model_cache_dir)
code = [str(Path(m.__file__).parent) for m in (parley_agent, parley_backend, parley_common)]
code += [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
print(json.dumps({"paths": paths, "code": code}))
"""


def test_default_paths_are_outside_the_code_and_site_packages(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["HOME"] = str(tmp_path / "home")
    env.pop("XDG_CACHE_HOME", None)
    work = tmp_path / "work"
    work.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=work, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    paths = {name: Path(value) for name, value in found["paths"].items()}
    # Every path setting is seen (a new one is checked without editing this test).
    assert {
        "BackendSettings.data_dir",
        "BackendSettings.web_dist",
        "AgentSettings.data_dir",
    } <= set(paths)
    for name, path in paths.items():
        assert path.is_absolute(), f"{name} = {path}"
        for code in map(Path, found["code"]):
            assert not path.is_relative_to(code), f"{name} = {path} is inside {code}"
    assert paths["BackendSettings.data_dir"] == work / "data"
    assert paths["AgentSettings.spool_dir"] == work / "data" / "history-spool"
    assert paths["BackendSettings.web_dist"] == work / "web" / "dist"
    assert (
        paths["AgentSettings.model_cache_dir"] == tmp_path / "home" / ".cache" / "parley" / "models"
    )


def test_settings_override_the_defaults(tmp_path: Path, monkeypatch) -> None:
    from parley_agent.settings import AgentSettings

    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("PARLEY_CACHE_DIR", str(tmp_path / "c"))
    settings = AgentSettings(_env_file=None)
    assert settings.spool_dir == tmp_path / "d" / "history-spool"
    assert settings.model_cache_dir == tmp_path / "c" / "models"
    monkeypatch.setenv("PARLEY_HISTORY_SPOOL_DIR", str(tmp_path / "s"))
    assert AgentSettings(_env_file=None).spool_dir == tmp_path / "s"


def test_shipped_code_builds_no_path_from_its_own_location() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for directory in SHIPPED
        for path in (ROOT / directory).rglob("*.py")
        if "testing" not in path.relative_to(ROOT).parts  # dev tooling runs from the repo
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Name) and node.id == "__file__"
    ]
    assert not offenders, offenders
