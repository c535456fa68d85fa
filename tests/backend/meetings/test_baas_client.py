"""The Meeting BaaS client against the fake service over real HTTP: requests, errors, retries."""

from __future__ import annotations

import pytest

from parley_backend.meetings.baas_client import (
    CallbackConfig,
    MeetingBaasClient,
    MeetingBaasError,
    StreamingConfig,
)
from parley_backend.meetings.service import baas_api_error
from tests.fakes.meeting_baas import FakeMeetingBaas

STREAM = StreamingConfig("ws://127.0.0.1:9/ws/x/y", "ws://127.0.0.1:9/ws/x/y", 16000)


@pytest.fixture
async def fake():
    # A long join step keeps the fake bot from dialing the (absent) stream URL.
    async with FakeMeetingBaas(join_step_s=60) as service:
        yield service


@pytest.fixture
async def client(fake: FakeMeetingBaas):
    c = MeetingBaasClient(fake.api_key, fake.base_url)
    yield c
    await c.close()


async def test_create_bot_sends_streaming_and_callback(fake, client) -> None:
    bot_id = await client.create_bot(
        meeting_url="https://meet.google.com/abc-defg-hij",
        bot_name="Parley",
        streaming=STREAM,
        callback=CallbackConfig("http://127.0.0.1:9/cb", "s3cret"),
        extra={"parley_meeting_id": "m1"},
    )
    body = fake.bot(bot_id).body
    assert body["streaming_enabled"] is True
    assert body["streaming_config"] == {
        "input_url": STREAM.input_url,
        "output_url": STREAM.output_url,
        "audio_frequency": 16000,
    }
    assert body["callback_enabled"] is True
    assert body["callback_config"] == {
        "url": "http://127.0.0.1:9/cb",
        "secret": "s3cret",
        "method": "POST",
    }
    assert body["extra"] == {"parley_meeting_id": "m1"}
    status = await client.status(bot_id)
    assert status["bot_id"] == bot_id and status["status"] == "queued"
    details = await client.details(bot_id)
    assert details["bot_name"] == "Parley"


async def test_wrong_api_key_is_forbidden(fake) -> None:
    bad = MeetingBaasClient("wrong", fake.base_url)
    try:
        with pytest.raises(MeetingBaasError) as info:
            await bad.status("x")
    finally:
        await bad.close()
    assert info.value.status == 403
    assert baas_api_error(info.value).code == "meeting_baas_forbidden"


async def test_unknown_bot_and_double_leave(fake, client) -> None:
    with pytest.raises(MeetingBaasError) as info:
        await client.leave("00000000-0000-0000-0000-000000000000")
    assert info.value.status == 404 and info.value.code == "FST_ERR_BOT_NOT_FOUND_BY_ID"
    bot_id = await client.create_bot(
        meeting_url="https://zoom.us/j/123456789", bot_name="P", streaming=STREAM
    )
    await client.leave(bot_id)
    with pytest.raises(MeetingBaasError) as info:
        await client.leave(bot_id)
    assert info.value.status == 409
    assert baas_api_error(info.value).status == 409


async def test_out_of_tokens_is_not_retried(fake, client) -> None:
    fake.fail_next(402, "FST_ERR_INSUFFICIENT_TOKENS", "not enough tokens")
    with pytest.raises(MeetingBaasError) as info:
        await client.create_bot(
            meeting_url="https://zoom.us/j/123456789", bot_name="P", streaming=STREAM
        )
    assert info.value.status == 402
    assert [r for r in fake.requests if r[0] == "POST"] == [("POST", "/v2/bots", 402)]
    err = baas_api_error(info.value)
    assert (err.status, err.code) == (402, "meeting_baas_out_of_tokens")


async def test_429_is_retried_after_retry_after(fake, client) -> None:
    fake.fail_next(429, "FST_ERR_TOO_MANY_REQUESTS", "slow down", retryAfter=0)
    bot_id = await client.create_bot(
        meeting_url="https://zoom.us/j/123456789", bot_name="P", streaming=STREAM
    )
    assert bot_id in fake.bots
    assert [s for _m, _p, s in fake.requests] == [429, 201]


async def test_429_with_long_retry_after_surfaces_as_rate_limited(fake, client) -> None:
    fake.fail_next(429, "FST_ERR_TOO_MANY_REQUESTS", "slow down", retryAfter=30)
    with pytest.raises(MeetingBaasError) as info:
        await client.status("any")
    assert info.value.retry_after == 30
    err = baas_api_error(info.value)
    assert err.status == 429 and err.headers == {"Retry-After": "30"}


async def test_5xx_retried_for_reads_but_not_for_create(fake, client) -> None:
    bot_id = await client.create_bot(
        meeting_url="https://zoom.us/j/123456789", bot_name="P", streaming=STREAM
    )
    fake.fail_next(500, "FST_ERR_INTERNAL", "boom")
    assert (await client.status(bot_id))["bot_id"] == bot_id
    fake.fail_next(500, "FST_ERR_INTERNAL", "boom")
    with pytest.raises(MeetingBaasError) as info:
        await client.create_bot(
            meeting_url="https://zoom.us/j/123456789", bot_name="P", streaming=STREAM
        )
    assert info.value.status == 500
    assert len(fake.bots) == 1  # no second bot from a blind retry


async def test_validation_error_maps_to_422(fake, client) -> None:
    with pytest.raises(MeetingBaasError) as info:
        await client.create_bot(
            meeting_url="https://zoom.us/j/123456789", bot_name="x" * 300, streaming=STREAM
        )
    assert info.value.status == 400 and info.value.code == "FST_ERR_VALIDATION"
    assert baas_api_error(info.value).status == 422


async def test_unreachable_service() -> None:
    from parley_common.testing.devstack import free_port

    c = MeetingBaasClient("k", f"http://127.0.0.1:{free_port()}", max_attempts=2)
    try:
        with pytest.raises(MeetingBaasError) as info:
            await c.status("x")
    finally:
        await c.close()
    assert info.value.status == 0
    assert baas_api_error(info.value).code == "meeting_baas_unreachable"
