"""The app factory: ``uvicorn parley_backend.app:create_app --factory``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from livekit import api

from parley_backend.db import create_engine, create_schema, dispose_engine, resolve_database_url
from parley_backend.errors import install_error_handlers
from parley_backend.http_edges import install_edges
from parley_backend.livekit_service import create_livekit_api
from parley_backend.logs import configure_logging
from parley_backend.meetings import routes as meetings_routes
from parley_backend.observability import Metrics, RequestContextMiddleware
from parley_backend.rate_limit import create_token_limiter
from parley_backend.routes import agent_api, health, rooms, sessions, token, webhooks
from parley_backend.settings import BackendSettings, load_settings
from parley_backend.web import mount_web

logger = logging.getLogger("parley.backend")

_DESCRIPTION = """Tokens, rooms and agent dispatch, verified LiveKit webhooks and session
history for Parley. Management routes take an API key (`X-API-Key` or
`Authorization: Bearer`); the agent API takes the agent's token. Every error is
`{"error": {"code", "message", "details"}}`."""


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.environment == "production":
        _check_production(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(resolve_database_url(settings.database_url, settings.data_dir))
        await create_schema(engine)
        app.state.engine = engine
        # The LiveKit client owns an aiohttp session, which must be made inside the loop.
        app.state.livekit = create_livekit_api(settings)
        logger.info(
            "backend started",
            extra={"environment": settings.environment, "database": engine.dialect.name},
        )
        try:
            yield
        finally:
            await app.state.token_limiter.aclose()
            await app.state.livekit.aclose()
            await dispose_engine(engine)

    docs = settings.api_docs_enabled  # off in production unless PARLEY_API_DOCS=true
    app = FastAPI(
        title="Parley",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics.create()
    app.state.webhook_receiver = api.WebhookReceiver(
        api.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret)
    )
    app.state.token_limiter = create_token_limiter(settings)
    install_edges(app, settings)
    app.add_middleware(
        RequestContextMiddleware, metrics=app.state.metrics, access_log=settings.access_log
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(token.router)
    app.include_router(rooms.router)
    app.include_router(sessions.router)
    app.include_router(webhooks.router)
    app.include_router(agent_api.router)
    app.include_router(meetings_routes.router)
    app.include_router(meetings_routes.agent_chat_router)
    # Last: the static mount at "/" must not shadow the API routes.
    mount_web(app, settings.web_dist)
    return app


def _check_production(settings: BackendSettings) -> None:
    """Refuse to start in production with development credentials."""
    problems = []
    if settings.livekit_api_secret == "secret":
        problems.append("LIVEKIT_API_SECRET is the development default")
    if settings.agent_token == "dev-agent-token":
        problems.append("PARLEY_AGENT_TOKEN is the development default")
    if not settings.api_key_set:
        problems.append("PARLEY_API_KEYS is empty (the management API would be unusable)")
    if problems:
        raise RuntimeError("unsafe production configuration: " + "; ".join(problems))
