"""MCP configuration: the operator's server list, a room's allowlist, and who may set it."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from parley_agent.mcp_config import McpServerConfig
from parley_agent.settings import AgentSettings
from parley_agent.tools.mcp_servers import build_mcp_toolsets, room_allowances
from parley_backend.access_policy import Caller, CallerKind, agent_config_for
from parley_backend.errors import ApiError
from parley_backend.settings import BackendSettings
from parley_common.agent_config import AgentConfig, parse_agent_config

SERVERS = [
    {"name": "shop", "command": ["python", "-m", "shop"], "env": {"SHOP_KEY": "s3cret-env"}},
    {
        "name": "crm",
        "url": "https://crm.example/mcp?key=q-secret",
        "headers": {"Authorization": "Bearer h-secret"},
        "timeout_s": 3,
    },
]


def _settings(monkeypatch: pytest.MonkeyPatch, value: str) -> AgentSettings:
    monkeypatch.setenv("PARLEY_MCP_SERVERS", value)
    return AgentSettings()


def test_default_is_no_servers_and_no_room_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_MCP_SERVERS", raising=False)
    assert AgentSettings().mcp_servers == []
    assert AgentConfig().mcp == []
    configured = [McpServerConfig.model_validate(s) for s in SERVERS]
    assert build_mcp_toolsets(configured, [], call_timeout_s=8, connect_timeout_s=5) == []


def test_servers_parse_from_json_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, json.dumps(SERVERS))
    shop, crm = settings.mcp_servers
    assert (shop.transport, shop.command, shop.env["SHOP_KEY"].get_secret_value()) == (
        "stdio",
        ["python", "-m", "shop"],
        "s3cret-env",
    )
    assert crm.transport == "streamable_http" and crm.timeout_s == 3
    assert crm.headers["Authorization"].get_secret_value() == "Bearer h-secret"
    shown = " ".join([repr(settings), str(settings.mcp_servers), shop.describe(), crm.describe()])
    for secret in ("s3cret-env", "h-secret", "q-secret"):
        assert secret not in shown
    assert crm.describe() == "crm (http: https://crm.example/mcp)"


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"name": "x"}, "exactly one of command or url"),
        ({"name": "x", "command": ["a"], "url": "http://h/mcp"}, "exactly one of command or url"),
        ({"name": "x", "command": []}, "at least 1 item"),
        ({"name": "x", "url": "ftp://h/mcp"}, "url must be http\\(s\\)"),
        ({"name": "x", "url": "http://h/mcp", "env": {"A": "b"}}, "env and cwd are for command"),
        ({"name": "x", "command": ["a"], "headers": {"A": "b"}}, "headers are for url"),
        ({"name": "bad name", "command": ["a"]}, "should match pattern"),
        ({"name": "x", "command": ["a"], "shell": True}, "Extra inputs are not permitted"),
    ],
)
def test_bad_server_entries_are_refused(
    monkeypatch: pytest.MonkeyPatch, server: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(monkeypatch, json.dumps([server]))


def test_a_refused_entry_does_not_print_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"name": "x", "url": "ftp://h/mcp", "headers": {"Authorization": "Bearer h-secret"}}
    with pytest.raises(ValidationError) as err:
        _settings(monkeypatch, json.dumps([bad]))
    assert "url must be" in str(err.value) and "h-secret" not in str(err.value)


def test_repeated_names_and_bad_json_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="repeated: \\['shop'\\]"):
        _settings(monkeypatch, json.dumps([SERVERS[0], SERVERS[0]]))
    with pytest.raises(SettingsError, match='field "mcp_servers"') as err:
        _settings(monkeypatch, '[{"headers": "Bearer h-secret" not json')
    assert "h-secret" not in str(err.value)


def test_room_allowlist_selects_servers_and_tools(caplog: pytest.LogCaptureFixture) -> None:
    servers = [McpServerConfig.model_validate(s) for s in SERVERS]
    ids = {"room": "r1", "job_id": "j1"}
    with caplog.at_level(logging.WARNING, logger="parley.tools.mcp"):
        chosen = room_allowances(servers, ["crm/find_contact", "nope", "shop/a", "shop/b"], ids)
    assert [(a.server.name, a.tools) for a in chosen] == [
        ("shop", {"a", "b"}),
        ("crm", {"find_contact"}),
    ]
    (record,) = caplog.records
    assert "'nope'" in record.getMessage() and record.room == "r1" and record.job_id == "j1"
    # A whole server wins over single tools of it, in either order.
    for entries in (["shop/a", "shop"], ["shop", "shop/a"]):
        (only,) = room_allowances(servers, entries, ids)
        assert only.tools is None


def test_agent_config_mcp_entries_are_validated() -> None:
    config, problem = parse_agent_config(json.dumps({"mcp": ["shop", "crm/find.contact"]}))
    assert problem is None and config.mcp == ["shop", "crm/find.contact"]
    config, problem = parse_agent_config(json.dumps({"mcp": ["shop/../x y"], "persona": "p"}))
    assert config.mcp == [] and config.persona == "p" and "mcp" in (problem or "")


def _backend(**values: str) -> BackendSettings:
    return BackendSettings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [CallerKind.ANONYMOUS, CallerKind.TOKEN_KEY])
def test_public_callers_cannot_enable_mcp_by_default(kind: CallerKind) -> None:
    with pytest.raises(ApiError) as err:
        agent_config_for(Caller(kind), AgentConfig(mcp=["shop"]), _backend())
    assert err.value.status == 403
    assert err.value.details == {"field": "agent_config.mcp"}


def test_operator_opens_mcp_by_field_or_preset() -> None:
    anonymous = Caller(CallerKind.ANONYMOUS)
    opened = _backend(PARLEY_PUBLIC_AGENT_FIELDS="preset,language,mcp")
    assert agent_config_for(anonymous, AgentConfig(mcp=["shop"]), opened).mcp == ["shop"]
    presets = json.dumps({"orders": {"mcp": ["shop/lookup_order"]}})
    with_preset = _backend(PARLEY_AGENT_PRESETS=presets)
    config = agent_config_for(anonymous, AgentConfig(preset="orders"), with_preset)
    assert config.mcp == ["shop/lookup_order"]
    management = Caller(CallerKind.MANAGEMENT)
    assert agent_config_for(management, AgentConfig(mcp=["crm"]), _backend()).mcp == ["crm"]
