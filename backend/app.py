"""The app factory: ``uvicorn parley_backend.app:create_app --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from parley_backend.db import create_engine, create_schema, resolve_database_url
from parley_backend.errors import install_error_handlers
from parley_backend.routes import health, token
from parley_backend.settings import BackendSettings, load_settings
from parley_backend.web import mount_web


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(resolve_database_url(settings.database_url, settings.data_dir))
        await create_schema(engine)
        app.state.engine = engine
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title="Parley", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(token.router)
    # Last: the static mount at "/" must not shadow the API routes.
    mount_web(app, settings.web_dist)
    return app
