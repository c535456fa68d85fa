"""A local Open-Meteo for tests: the geocoding and forecast endpoints with the real shapes.

Shapes as documented by Open-Meteo: geocoding ``GET /v1/search?name=&count=&language=&format=``
answers ``{"results": [...], "generationtime_ms"}`` and omits ``results`` when nothing
matches; forecast ``GET /v1/forecast?latitude=&longitude=&current=&daily=&timezone=`` answers
``current``/``current_units``/``daily``/``daily_units`` for the requested variables; bad
parameters get HTTP 400 ``{"error": true, "reason": "..."}``.

Sources: https://open-meteo.com/en/docs/geocoding-api and https://open-meteo.com/en/docs
(Open-Meteo is free for non-commercial use; the fake keeps the tests off the network).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PLACES = {
    "berlin": {
        "id": 2950159,
        "name": "Berlin",
        "latitude": 52.52437,
        "longitude": 13.41053,
        "elevation": 74.0,
        "feature_code": "PPLC",
        "country_code": "DE",
        "admin1_id": 2950157,
        "timezone": "Europe/Berlin",
        "population": 3426354,
        "country_id": 2921044,
        "country": "Germany",
        "admin1": "Land Berlin",
    },
    "lisbon": {
        "id": 2267057,
        "name": "Lisbon",
        "latitude": 38.71667,
        "longitude": -9.13333,
        "elevation": 45.0,
        "feature_code": "PPLC",
        "country_code": "PT",
        "admin1_id": 2267056,
        "timezone": "Europe/Lisbon",
        "population": 517802,
        "country_id": 2264397,
        "country": "Portugal",
        "admin1": "Lisbon",
    },
}

# Weather per latitude (rounded) so each place has its own.
WEATHER = {
    52.52: {
        "temperature_2m": 4.3,
        "apparent_temperature": 1.2,
        "relative_humidity_2m": 81,
        "weather_code": 61,
        "wind_speed_10m": 14.8,
        "max": 6.1,
        "min": 1.9,
        "pp": 70,
    },
    38.72: {
        "temperature_2m": 17.6,
        "apparent_temperature": 16.9,
        "relative_humidity_2m": 64,
        "weather_code": 1,
        "wind_speed_10m": 9.4,
        "max": 19.0,
        "min": 12.5,
        "pp": 5,
    },
}

UNITS = {
    "temperature_2m": "°C",
    "apparent_temperature": "°C",
    "relative_humidity_2m": "%",
    "weather_code": "wmo code",
    "wind_speed_10m": "km/h",
    "temperature_2m_max": "°C",
    "temperature_2m_min": "°C",
    "precipitation_probability_max": "%",
}


@dataclass
class FakeOpenMeteo:
    url: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # Failure switches for the failure-path tests.
    forecast_status: int | None = None
    delay_s: float = 0.0
    _runner: web.AppRunner | None = None

    def _error(self, reason: str) -> web.Response:
        return web.json_response({"error": True, "reason": reason}, status=400)

    async def _search(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.requests.append(("search", q))
        await asyncio.sleep(self.delay_s)
        name = q.get("name", "")
        try:
            count = int(q.get("count", "10"))
        except ValueError:
            return self._error("Parameter 'count' must be an integer")
        body: dict[str, Any] = {"generationtime_ms": 0.4}
        place = PLACES.get(name.strip().lower())
        if place and len(name) >= 2:
            body["results"] = [place][:count]
        return web.json_response(body)

    async def _forecast(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.requests.append(("forecast", q))
        await asyncio.sleep(self.delay_s)
        if self.forecast_status is not None:
            if self.forecast_status == 400:
                return self._error("Cannot initialize WeatherVariable from invalid String value")
            return web.Response(status=self.forecast_status, text="upstream trouble")
        try:
            lat, lon = float(q["latitude"]), float(q["longitude"])
        except (KeyError, ValueError):
            return self._error("Parameter 'latitude' and 'longitude' must be floating point")
        if not (-90 <= lat <= 90):
            return self._error(f"Latitude must be in range of -90 to 90°. Given: {lat}.")
        w = WEATHER.get(round(lat, 2))
        if w is None:
            return self._error("No data is available for this location")
        current_vars = [v for v in q.get("current", "").split(",") if v]
        daily_vars = [v for v in q.get("daily", "").split(",") if v]
        for var in current_vars:
            if var not in w:
                return self._error(
                    f"Cannot initialize CurrentVariable from invalid String value {var}"
                )
        body: dict[str, Any] = {
            "latitude": round(lat, 2),
            "longitude": round(lon, 2),
            "generationtime_ms": 0.05,
            "utc_offset_seconds": 3600,
            "timezone": "Europe/Berlin",
            "timezone_abbreviation": "GMT+1",
            "elevation": 38.0,
        }
        if current_vars:
            body["current_units"] = {
                "time": "iso8601",
                "interval": "seconds",
                **{v: UNITS[v] for v in current_vars},
            }
            body["current"] = {
                "time": "2026-11-22T03:00",
                "interval": 900,
                **{v: w[v] for v in current_vars},
            }
        if daily_vars:
            daily_values = {
                "weather_code": w["weather_code"],
                "temperature_2m_max": w["max"],
                "temperature_2m_min": w["min"],
                "precipitation_probability_max": w["pp"],
            }
            for var in daily_vars:
                if var not in daily_values:
                    return self._error(
                        f"Cannot initialize DailyVariable from invalid String value {var}"
                    )
            body["daily_units"] = {
                "time": "iso8601",
                **{v: UNITS.get(v, "wmo code") for v in daily_vars},
            }
            body["daily"] = {"time": ["2026-11-22"], **{v: [daily_values[v]] for v in daily_vars}}
        return web.json_response(body)

    async def start(self) -> FakeOpenMeteo:
        app = web.Application()
        app.router.add_get("/v1/search", self._search)
        app.router.add_get("/v1/forecast", self._forecast)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
