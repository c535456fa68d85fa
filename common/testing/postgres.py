"""A throwaway PostgreSQL server (Debian's binaries) in a temp dir, on a free loopback port.

The backend tests' ``postgres_url`` fixture and the cluster harness both use it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from glob import glob
from pathlib import Path

from parley_common.testing.devstack import free_port


def postgres_bindir() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres_user() -> list[str]:
    # initdb refuses to run as root; the Debian package creates a `postgres` user.
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Postgres:
    bindir: Path
    base: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://parley@127.0.0.1:{self.port}/parley"

    def stop(self) -> None:
        data = str(self.base / "data")
        pg_ctl = [*_as_postgres_user(), str(self.bindir / "pg_ctl")]
        subprocess.run([*pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def start_postgres() -> Postgres:
    """initdb + pg_ctl start (trust auth, user and database ``parley``); wait until it serves."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries missing (run `scripts/setup --test`)")
    base = Path(tempfile.mkdtemp(prefix="parley-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    prefix = _as_postgres_user()
    if prefix:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "parley", "--auth=trust", "-E", "UTF8")
    server = Postgres(bindir, base, port)
    try:
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "pg.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {sock} -h 127.0.0.1",
            "start",
        )
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "parley", "parley")
    except Exception:
        server.stop()
        raise
    return server
