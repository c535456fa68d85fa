"""Backend test helpers: apps on a temp database (lifespan run), signed webhooks, Postgres."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from livekit import api
from sqlalchemy import text

from parley_backend.app import create_app
from parley_backend.db import create_engine, resolve_database_url
from parley_backend.settings import BackendSettings
from parley_common.testing.devstack import free_port
from parley_common.testing.postgres import postgres_bindir, start_postgres

LK_KEY = "testkey"
LK_SECRET = "test-secret-that-is-long-enough-for-hs256"
AGENT_TOKEN = "agent-test-token"
AGENT_AUTH = {"Authorization": f"Bearer {AGENT_TOKEN}"}


def make_settings(data_dir: Path, **overrides: Any) -> BackendSettings:
    values: dict[str, Any] = {
        "PARLEY_ENV": "development",
        "PARLEY_DATA_DIR": str(data_dir),
        "DATABASE_URL": None,
        # Nothing listens here: tests that need LiveKit pass a real server's URL.
        "LIVEKIT_URL": f"ws://127.0.0.1:{free_port()}",
        "LIVEKIT_API_KEY": LK_KEY,
        "LIVEKIT_API_SECRET": LK_SECRET,
        "PARLEY_AGENT_TOKEN": AGENT_TOKEN,
        "PARLEY_API_KEYS": "",
        "PARLEY_WEB_DIST": str(data_dir / "no-web"),
        "PARLEY_LOG_FORMAT": "text",
        # The operator's stack serves these before any worker reported (the token route's
        # language check); tests/backend/test_capabilities*.py set their own.
        "PARLEY_DEFAULT_LANGUAGES": "en,es,fr,de,multi",
    }
    values.update(overrides)
    return BackendSettings(_env_file=None, **values)


AppClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@asynccontextmanager
async def running_app(
    settings: BackendSettings, client_host: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with its lifespan (schema, LiveKit client) behind an ASGI client.

    The client is on loopback, like a developer's browser: the keyless development
    management API answers nobody else (pass another ``client_host`` to be remote)."""
    app = create_app(settings)
    # Start-up runs the Alembic migrations: ~0.2 s here on a quiet machine, but a first
    # import under a load average near 20 took past asgi-lifespan's 5 s default. That
    # bound is the harness's, not a product limit, so it allows a starved machine.
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(client_host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> str | None:
    """Each database the backend supports; Postgres gets an empty schema per test."""
    if request.param == "sqlite":
        return None  # the default: a file under the data directory
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(resolve_database_url(url, Path("/nonexistent")))
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


@pytest.fixture
async def client(tmp_path: Path, database_url: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """The app on each supported database (SQLite and a real Postgres)."""
    async with running_app(make_settings(tmp_path, DATABASE_URL=database_url)) as c:
        yield c


# --------------------------------------------------------------------------- webhooks


def sign_webhook(body: str, *, key: str = LK_KEY, secret: str = LK_SECRET, ttl_s: int = 300) -> str:
    """What livekit-server sends in ``Authorization``: a JWT (iss = key) with the body's
    base64 SHA-256 in the ``sha256`` claim."""
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return (
        api.AccessToken(key, secret)
        .with_sha256(digest)
        .with_ttl(datetime.timedelta(seconds=ttl_s))
        .to_jwt()
    )


def webhook_body(
    event: str,
    *,
    room: str = "room-a",
    room_sid: str = "RM_test1",
    identity: str | None = None,
    kind: str | None = None,
    event_id: str | None = None,
    created_at: int | None = None,
) -> str:
    """A webhook body in the server's JSON encoding (protobuf JSON, camelCase)."""
    created_at = created_at or int(time.time())
    payload: dict[str, Any] = {
        "event": event,
        "room": {
            "sid": room_sid,
            "name": room,
            "emptyTimeout": 300,
            "creationTime": str(created_at),
        },
        "id": event_id or f"EV_{uuid.uuid4().hex[:12]}",
        "createdAt": str(created_at),
    }
    if identity:
        payload["participant"] = {
            "sid": f"PA_{identity}",
            "identity": identity,
            "name": identity.title(),
            "state": "ACTIVE",
            **({"kind": kind} if kind else {}),
        }
    return json.dumps(payload)


async def post_webhook(client: httpx.AsyncClient, body: str, auth: str | None = None):
    headers = {"content-type": "application/webhook+json"}
    headers["authorization"] = auth if auth is not None else sign_webhook(body)
    return await client.post("/api/webhooks/livekit", content=body.encode(), headers=headers)


# --------------------------------------------------------------------------- postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free port in a temp dir, stopped afterwards."""
    if postgres_bindir() is None:
        pytest.skip("PostgreSQL server binaries missing (run `scripts/setup --test`)")
    server = start_postgres()
    try:
        yield server.url
    finally:
        server.stop()
