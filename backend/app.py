"""The app factory: ``uvicorn parley_backend.app:create_app --factory``."""

from __future__ import annotations

from fastapi import FastAPI

from parley_backend.errors import install_error_handlers
from parley_backend.routes import health, token
from parley_backend.settings import BackendSettings, load_settings
from parley_backend.web import mount_web


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(title="Parley", version="0.1.0")
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(token.router)
    # Last: the static mount at "/" must not shadow the API routes.
    mount_web(app, settings.web_dist)
    return app
