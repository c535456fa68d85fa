"""Where Parley keeps its files when the settings do not say: never next to the code.

A non-editable install puts the code in site-packages, which may be read-only and is shared
by every project using that interpreter, so no default is derived from ``__file__``:

- data (the backend's SQLite file, the worker's history spool): ``data/`` under the working
  directory, or ``PARLEY_DATA_DIR``;
- the built web client: ``web/dist`` under the working directory, or ``PARLEY_WEB_DIST``;
- downloaded models and the model-hash stamps: the user's cache, ``$XDG_CACHE_HOME/parley``
  (``~/.cache/parley``), or ``PARLEY_CACHE_DIR``.

The functions are the settings' default factories: they are evaluated when the settings
are loaded, so a relative default becomes absolute against the working directory of that
moment and logs show where files really are.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    return Path.cwd() / "data"


def default_web_dist() -> Path:
    return Path.cwd() / "web" / "dist"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "parley"
