"""Serve the built browser client (``web/dist``) at ``/``."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from parley_backend.access_policy import anonymous_caller

logger = logging.getLogger("parley.backend.web")

_NOT_BUILT = """<!doctype html><title>Parley</title>
<p>The web client is not built. Run <code>make web</code> (or <code>make dev</code>).</p>"""


def mount_web(app: FastAPI, dist: object) -> None:
    from pathlib import Path

    path = Path(str(dist))
    if (path / "index.html").is_file():
        app.mount("/", StaticFiles(directory=path, html=True), name="web")
        return
    logger.warning("web client not built at %s", path)

    @app.get("/", include_in_schema=False, dependencies=[Depends(anonymous_caller)])
    async def _not_built() -> HTMLResponse:
        return HTMLResponse(_NOT_BUILT, status_code=503)
