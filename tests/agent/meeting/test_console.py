"""The parley.ask RPC handler and the quiet-before-speaking queue."""

from __future__ import annotations

import asyncio
import json

import pytest
from livekit import rtc

from parley_agent.meeting.console import ConsoleAsks, parse_ask_payload, phrase_for_meeting


def _invocation(payload: str) -> rtc.RpcInvocationData:
    return rtc.RpcInvocationData(
        request_id="r1", caller_identity="backend", payload=payload, response_timeout=10.0
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("not json", 1400),
        ('["question"]', 1400),
        ('{"question": 5}', 1400),
        ('{"q": "hi"}', 1400),
        ('{"question": "   "}', 1400),
        (json.dumps({"question": "x" * 501}), 1413),
    ],
)
def test_bad_payloads_get_clear_errors(payload: str, code: int) -> None:
    with pytest.raises(rtc.RpcError) as err:
        parse_ask_payload(payload)
    assert err.value.code == code and err.value.message


async def test_question_is_spoken_only_when_the_meeting_is_quiet() -> None:
    spoken: list[str] = []
    asked: list[str] = []
    quiet = {"now": False}

    async def speak(text: str) -> None:
        spoken.append(text)

    asks = ConsoleAsks(speak, lambda: quiet["now"], asked.append, quiet_s=0.2)
    asks.start()
    try:
        reply = await asks.handle_rpc(_invocation('{"question": " Is the  budget final? "}'))
        assert json.loads(reply) == {"ok": True}
        await asyncio.sleep(0.6)
        assert spoken == [], "must not talk over people"
        quiet["now"] = True
        for _ in range(50):
            if spoken:
                break
            await asyncio.sleep(0.05)
        assert spoken == [phrase_for_meeting("Is the budget final?")]
        assert asked == ["Is the budget final?"]
    finally:
        await asks.aclose()


async def test_queue_is_bounded() -> None:
    async def speak(text: str) -> None:
        pass

    asks = ConsoleAsks(speak, lambda: False)  # never started: nothing drains the queue
    for i in range(10):
        asks.submit(f"q{i}")
    with pytest.raises(rtc.RpcError) as err:
        await asks.handle_rpc(_invocation('{"question": "one more"}'))
    assert err.value.code == 1429


async def test_a_cut_off_question_is_asked_again() -> None:
    attempts: list[str] = []

    async def speak(text: str) -> bool:
        attempts.append(text)
        return len(attempts) > 1  # the first attempt is cut off by a participant

    asks = ConsoleAsks(speak, lambda: True, quiet_s=0.05)
    asks.start()
    try:
        asks.submit("Any blockers?")
        for _ in range(50):
            if len(attempts) == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert attempts == [phrase_for_meeting("Any blockers?")] * 2
    finally:
        await asks.aclose()
