"""The weather tool against a local Open-Meteo, through the framework's text harness."""

from __future__ import annotations

import socket

import httpx
import pytest
from livekit.agents import Agent, AgentSession

from parley_agent.tools import ToolEnv, build_tools
from parley_agent.tools.weather import WeatherError, get_weather
from parley_common.agent_config import AgentConfig
from tests.fakes.open_meteo import FakeOpenMeteo
from tests.fakes.rule_llm import (
    Reply,
    RuleLLM,
    last_is_tool_output,
    last_tool_output,
    last_user_text,
)


def _env(http: httpx.AsyncClient, fake: FakeOpenMeteo, **kw: object) -> ToolEnv:
    return ToolEnv(
        http=http, open_meteo_geocoding_url=fake.url, open_meteo_forecast_url=fake.url, **kw
    )  # type: ignore[arg-type]


def _weather_llm() -> RuleLLM:
    """Calls weather(location=<last word>) for weather questions; repeats the tool output."""

    def rule(chat_ctx):  # type: ignore[no-untyped-def]
        if last_is_tool_output(chat_ctx):
            return Reply(text=f"Here you go: {last_tool_output(chat_ctx)}")
        text = last_user_text(chat_ctx)
        if "weather" in text:
            return Reply(tool="weather", arguments={"location": text.rstrip("?").split(" in ")[-1]})
        return None

    return RuleLLM([rule])


async def _ask(env: ToolEnv, question: str):  # type: ignore[no-untyped-def]
    tools = build_tools(AgentConfig(tools=["weather"]), env)
    fake = _weather_llm()
    async with AgentSession(llm=fake) as session:
        await session.start(Agent(instructions="test", tools=tools))
        return await session.run(user_input=question), fake


async def test_weather_call_reports_forecast(http, open_meteo) -> None:
    result, _ = await _ask(_env(http, open_meteo), "what's the weather in Berlin?")
    result.expect.next_event().is_function_call(name="weather", arguments={"location": "Berlin"})
    output = result.expect.next_event().is_function_call_output()
    text = output.event().item.output
    assert "Berlin" in text and "Germany" in text
    assert "4 degrees Celsius" in text and "slight rain" in text
    assert "high is 6" in text and "70 percent" in text
    msg = result.expect.next_event().is_message(role="assistant")
    assert "slight rain" in msg.event().item.text_content
    result.expect.no_more_events()
    # The documented request shapes were used.
    (kind1, search), (kind2, fc) = open_meteo.requests
    assert (kind1, kind2) == ("search", "forecast")
    assert search == {"name": "Berlin", "count": "1", "language": "en", "format": "json"}
    assert fc["latitude"] == "52.52437" and fc["timezone"] == "auto"
    assert "temperature_2m" in fc["current"].split(",")


async def test_unknown_place_is_said_honestly_without_model_reply(http, open_meteo) -> None:
    result, fake = await _ask(_env(http, open_meteo), "weather in Atlantis")
    result.expect.next_event().is_function_call(name="weather")
    result.expect.next_event().is_function_call_output()
    msg = result.expect.next_event().is_message(role="assistant")
    assert msg.event().item.text_content == "I couldn't find a place called Atlantis."
    result.expect.no_more_events()
    assert len(fake.requests) == 1, "the model must not be asked to improvise after a failure"


@pytest.mark.parametrize(
    ("status", "spoken"),
    [
        (400, "Sorry, the weather service returned an error, so I can't tell you the weather."),
        (503, "Sorry, the weather service returned an error, so I can't tell you the weather."),
    ],
)
async def test_service_error_is_said(http, open_meteo, status: int, spoken: str) -> None:
    open_meteo.forecast_status = status
    result, _ = await _ask(_env(http, open_meteo), "weather in Lisbon")
    result.expect.next_event().is_function_call(name="weather")
    out = result.expect.next_event().is_function_call_output().event().item.output
    assert f"HTTP {status}" in out
    msg = result.expect.next_event().is_message(role="assistant")
    assert msg.event().item.text_content == spoken


async def test_timeout_is_said(http, open_meteo) -> None:
    open_meteo.delay_s = 2.0
    result, _ = await _ask(_env(http, open_meteo, timeout_s=0.3), "weather in Lisbon")
    result.expect.next_event().is_function_call(name="weather")
    result.expect.next_event().is_function_call_output()
    msg = result.expect.next_event().is_message(role="assistant")
    assert "taking too long" in msg.event().item.text_content


async def test_unreachable_service(http) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    env = ToolEnv(
        http=http,
        open_meteo_geocoding_url=f"http://127.0.0.1:{port}",
        open_meteo_forecast_url=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(WeatherError) as err:
        await get_weather(env, "Berlin")
    assert err.value.spoken == "Sorry, I couldn't reach the weather service just now."


async def test_lisbon_and_blank_location(http, open_meteo) -> None:
    report = await get_weather(_env(http, open_meteo), "  Lisbon ")
    assert report.place.label == "Lisbon, Portugal"
    assert report.condition == "mainly clear" and report.temperature == 17.6
    with pytest.raises(WeatherError, match="no location"):
        await get_weather(_env(http, open_meteo), " ")
