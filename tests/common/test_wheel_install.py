"""A real non-editable install: the wheel carries the migrations and finds its files.

The packages are built into a wheel and installed into a fresh directory that is put ahead
of this checkout's editable install; a process started in an empty working directory then
runs the backend's start-up migration with the default settings. It proves what an
editable install cannot: that nothing is looked up next to the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

_PROBE = """
import asyncio, sys
from pathlib import Path
import parley_backend
from parley_backend.db import create_engine, create_schema, dispose_engine, resolve_database_url
from parley_backend.settings import BackendSettings

site = Path(sys.argv[1])
assert Path(parley_backend.__file__).is_relative_to(site), parley_backend.__file__
settings = BackendSettings(_env_file=None)

async def main():
    engine = create_engine(resolve_database_url(settings.database_url, settings.data_dir))
    try:
        await create_schema(engine)
        async with engine.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            print(rows.scalar_one())
    finally:
        await dispose_engine(engine)

asyncio.run(main())
"""


def test_the_installed_wheel_migrates_a_database_in_the_working_directory(
    tmp_path: Path,
) -> None:
    source = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("agent", "backend", "common"):
        shutil.copytree(ROOT / part, source / part, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", source)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([*pip, "wheel", "--no-deps", "-w", wheels, source], check=True)
    (wheel,) = wheels.glob("parley-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)

    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = str(site)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(site)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0001"
    assert (work / "data" / "parley.db").is_file()
    assert not any(site.rglob("*.db")), "a database was written inside the installed code"
