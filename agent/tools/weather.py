"""Weather through Open-Meteo (keyless): geocode a place name, then read its forecast.

Open-Meteo answers errors with HTTP 400 and ``{"error": true, "reason": ...}``; a place it
cannot find is a 200 whose body has no ``results``. Both are told to the user as they are.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from livekit.agents import RunContext, function_tool
from livekit.agents.llm import FunctionTool, ToolResult

from parley_agent.tools.base import ToolEnv, logger, spoken_failure

# WMO weather interpretation codes, as documented by Open-Meteo.
WMO_CODES: dict[int, str] = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "moderate drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "dense freezing drizzle",
    61: "slight rain",
    63: "moderate rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "slight snowfall",
    73: "moderate snowfall",
    75: "heavy snowfall",
    77: "snow grains",
    80: "slight rain showers",
    81: "moderate rain showers",
    82: "violent rain showers",
    85: "slight snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with slight hail",
    99: "thunderstorm with heavy hail",
}

CURRENT_VARS = (
    "temperature_2m,apparent_temperature,relative_humidity_2m,weather_code,wind_speed_10m"
)
DAILY_VARS = "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max"


_UNREADABLE = "Sorry, the weather service sent something I couldn't read."


class WeatherError(Exception):
    """A failure with a sentence fit to say to the user."""

    def __init__(self, spoken: str, reason: str) -> None:
        super().__init__(reason)
        self.spoken = spoken
        self.reason = reason


@dataclass
class Place:
    name: str
    country: str | None
    admin1: str | None
    latitude: float
    longitude: float

    @property
    def label(self) -> str:
        parts = [self.name] + [p for p in (self.admin1, self.country) if p and p != self.name]
        return ", ".join(parts)


@dataclass
class WeatherReport:
    place: Place
    temperature: float
    temperature_unit: str
    condition: str
    wind_speed: float | None
    wind_unit: str
    high: float | None
    low: float | None
    precipitation_chance: float | None

    def sentence(self) -> str:
        unit = self.temperature_unit.replace("°C", " degrees Celsius").replace(
            "°F", " degrees Fahrenheit"
        )
        text = f"In {self.place.label} it is {self.temperature:.0f}{unit} with {self.condition}"
        if self.high is not None and self.low is not None:
            text += f"; today's high is {self.high:.0f} and the low {self.low:.0f}"
        if self.precipitation_chance is not None:
            text += f", with a {self.precipitation_chance:.0f} percent chance of precipitation"
        if self.wind_speed is not None:
            text += f". Wind {self.wind_speed:.0f} {self.wind_unit.replace('km/h', 'km per hour')}"
        return text + "."


def _open_meteo_reason(response: httpx.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("reason"):
            return f"HTTP {response.status_code}: {body['reason']}"
    except ValueError:
        pass
    return f"HTTP {response.status_code}"


async def _get_json(http: httpx.AsyncClient, url: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        response = await http.get(url, params=params)
    except httpx.HTTPError as exc:
        raise WeatherError(
            "Sorry, I couldn't reach the weather service just now.", f"{type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise WeatherError(
            "Sorry, the weather service returned an error, so I can't tell you the weather.",
            _open_meteo_reason(response),
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise WeatherError(_UNREADABLE, "invalid JSON") from exc
    if not isinstance(body, dict):
        raise WeatherError(_UNREADABLE, "not a JSON object")
    return body


async def geocode(env: ToolEnv, location: str) -> Place:
    body = await _get_json(
        env.http,
        f"{env.open_meteo_geocoding_url.rstrip('/')}/v1/search",
        {"name": location, "count": 1, "language": "en", "format": "json"},
    )
    results = body.get("results") or []
    if not results:
        raise WeatherError(
            f"I couldn't find a place called {location}.", f"no geocoding result for {location!r}"
        )
    top = results[0]
    try:
        return Place(
            name=str(top["name"]),
            country=top.get("country"),
            admin1=top.get("admin1"),
            latitude=float(top["latitude"]),
            longitude=float(top["longitude"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WeatherError(
            _UNREADABLE,
            f"bad geocoding result: {exc}",
        ) from exc


def _first(values: Any) -> float | None:
    if isinstance(values, list) and values and isinstance(values[0], int | float):
        return float(values[0])
    return None


async def forecast(env: ToolEnv, place: Place) -> WeatherReport:
    body = await _get_json(
        env.http,
        f"{env.open_meteo_forecast_url.rstrip('/')}/v1/forecast",
        {
            "latitude": place.latitude,
            "longitude": place.longitude,
            "current": CURRENT_VARS,
            "daily": DAILY_VARS,
            "timezone": "auto",
            "forecast_days": 1,
        },
    )
    current = body.get("current")
    units = body.get("current_units") or {}
    daily = body.get("daily") or {}
    if not isinstance(current, dict) or not isinstance(current.get("temperature_2m"), int | float):
        raise WeatherError(_UNREADABLE, "forecast has no current")
    code = current.get("weather_code")
    wind = current.get("wind_speed_10m")
    return WeatherReport(
        place=place,
        temperature=float(current["temperature_2m"]),
        temperature_unit=str(units.get("temperature_2m", "°C")),
        condition=WMO_CODES.get(code, "unknown conditions")
        if isinstance(code, int)
        else "unknown conditions",
        wind_speed=float(wind) if isinstance(wind, int | float) else None,
        wind_unit=str(units.get("wind_speed_10m", "km/h")),
        high=_first(daily.get("temperature_2m_max")),
        low=_first(daily.get("temperature_2m_min")),
        precipitation_chance=_first(daily.get("precipitation_probability_max")),
    )


async def get_weather(env: ToolEnv, location: str) -> WeatherReport:
    """Geocode and forecast within the tool's time limit."""
    location = " ".join(location.split())[:100]
    if len(location) < 2:
        raise WeatherError("Which place would you like the weather for?", "no location given")
    try:
        async with asyncio.timeout(env.timeout_s):
            place = await geocode(env, location)
            return await forecast(env, place)
    except TimeoutError as exc:
        raise WeatherError(
            "Sorry, the weather service is taking too long to answer.",
            f"timed out after {env.timeout_s:.0f} s",
        ) from exc


def make_weather_tool(env: ToolEnv) -> FunctionTool:
    async def weather(context: RunContext, location: str) -> str | ToolResult:
        """Get the current weather and today's forecast for a place.

        Args:
            location: The city or place name, e.g. "Berlin" or "Lisbon, Portugal".
        """
        try:
            report = await get_weather(env, location)
        except WeatherError as exc:
            return spoken_failure(context, exc.spoken, exc.reason, "weather")
        logger.info("weather for %r: %s", location, report.place.label)
        return report.sentence()

    return function_tool(weather)
