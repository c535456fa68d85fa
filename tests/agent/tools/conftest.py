from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.open_meteo import FakeOpenMeteo


@pytest.fixture
async def open_meteo() -> AsyncIterator[FakeOpenMeteo]:
    fake = await FakeOpenMeteo().start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
