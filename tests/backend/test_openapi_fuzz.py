"""Schema-driven fuzzing of the whole OpenAPI with schemathesis: zero server errors.

The real backend process (uvicorn) runs against a real LiveKit server, so room and dispatch
operations reach LiveKit for real; every generated request must get a non-5xx answer.
Besides the per-operation phases, a stateful phase follows OpenAPI links (added to the
served schema here, ``LINKS``) so that what one request wrote is read back by the next:
a turn's session transcript and room context, a room and its dispatches, a token's room
in the sessions list. Hostile-but-signed webhooks and hostile timestamps written then
read back are played by tests/security/test_edge_*.py.
Meeting routes are left out: they front Meeting BaaS, a paid service that is faked in the
meeting bridge's own tests, and their 502 when it is unreachable is correct.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from parley_common.testing.devstack import LiveKitServer, start_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AGENT_TOKEN = "fuzz-agent-token"
MAX_EXAMPLES = "15"  # ~1,400 cases; the coverage phase adds most of them

_TURN = "post_turn_api_agent_turns_post"
_SUMMARY = "post_summary_api_agent_summaries_post"
_ROOM = "create_room_api_rooms_post"
_DISPATCH = "create_dispatch_api_rooms__room_name__dispatches_post"
_TOKEN = "create_token_api_token_post"
_READ_TRANSCRIPT = "get_transcript_api_sessions__session_id__transcript_get"
_READ_SESSION = "get_session_api_sessions__session_id__get"
_READ_CONTEXT = "get_context_api_agent_context_get"
_LIST_SESSIONS = "list_sessions_api_sessions_get"
_READ_ROOM = "get_room_api_rooms__room_name__get"
_LIST_DISPATCHES = "list_dispatches_api_rooms__room_name__dispatches_get"
_DELETE_DISPATCH = "delete_dispatch_api_rooms__room_name__dispatches__dispatch_id__delete"
_DELETE_ROOM = "delete_room_api_rooms__room_name__delete"

# (operation, status) -> {link name: (target operation, {parameter: runtime expression})}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    (_TURN, "201"): {
        "TranscriptOfTurn": (_READ_TRANSCRIPT, {"session_id": "$response.body#/turn/session_id"}),
        "SessionOfTurn": (_READ_SESSION, {"session_id": "$response.body#/turn/session_id"}),
        "ContextOfTurn": (_READ_CONTEXT, {"query.room_name": "$response.body#/turn/room_name"}),
        "SpeakerContext": (
            _READ_CONTEXT,
            {"query.participant_identity": "$response.body#/turn/speaker_identity"},
        ),
    },
    (_SUMMARY, "201"): {
        "ContextOfSummary": (
            _READ_CONTEXT,
            {"query.room_name": "$response.body#/summary/room_name"},
        ),
    },
    (_ROOM, "201"): {
        "ReadRoom": (_READ_ROOM, {"room_name": "$response.body#/room/name"}),
        "DispatchInRoom": (_DISPATCH, {"room_name": "$response.body#/room/name"}),
        "ListDispatches": (_LIST_DISPATCHES, {"room_name": "$response.body#/room/name"}),
        "DeleteRoom": (_DELETE_ROOM, {"room_name": "$response.body#/room/name"}),
    },
    (_DISPATCH, "201"): {
        "ListAfterDispatch": (_LIST_DISPATCHES, {"room_name": "$response.body#/room"}),
        "DeleteDispatch": (
            _DELETE_DISPATCH,
            {"room_name": "$response.body#/room", "dispatch_id": "$response.body#/id"},
        ),
    },
    (_TOKEN, "200"): {
        "SessionsOfTokenRoom": (
            _LIST_SESSIONS,
            {"query.room_name": "$response.body#/room_name"},
        ),
    },
}


def linked_schema(url: str) -> dict[str, Any]:
    """The served schema plus OpenAPI links, so the stateful phase reads back its writes."""
    with urllib.request.urlopen(f"{url}/openapi.json", timeout=30) as resp:
        schema = json.load(resp)
    operations = {
        op["operationId"]: op
        for methods in schema["paths"].values()
        for op in methods.values()
        if isinstance(op, dict) and "operationId" in op
    }
    for (source, status), links in LINKS.items():
        response = operations[source]["responses"][status]  # KeyError: the API changed
        response["links"] = {
            name: {"operationId": target, "parameters": params}
            for name, (target, params) in links.items()
            if target in operations
        }
        assert len(response["links"]) == len(links), f"link targets missing for {source}"
    return schema


def test_openapi_fuzz_has_no_server_errors(
    tmp_path: Path,
    livekit_server: LiveKitServer,
    artifacts_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backend = start_backend(
        tmp_path / "logs",
        {
            "LIVEKIT_URL": livekit_server.ws_url,
            "LIVEKIT_API_KEY": livekit_server.api_key,
            "LIVEKIT_API_SECRET": livekit_server.api_secret,
            "PARLEY_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": "",
            "PARLEY_AGENT_TOKEN": AGENT_TOKEN,
            # The fuzzer is one client sending thousands of requests: 429s would hide the
            # token route's behaviour behind the limiter (tested on its own elsewhere).
            "PARLEY_TOKEN_RATE_PER_MINUTE": "100000000",
            "PARLEY_TOKEN_RATE_BURST": "1000000",
            "PARLEY_LOG_LEVEL": "WARNING",
        },
    )
    report = artifacts_dir / "schemathesis-report.json"
    try:
        schema_file = tmp_path / "openapi-linked.json"
        schema_file.write_text(json.dumps(linked_schema(backend.url)))
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                str(schema_file),
                "--url",
                backend.url,
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                "20261122",
                "--workers",
                "1",
                "--header",
                f"Authorization: Bearer {AGENT_TOKEN}",
                "--exclude-path-regex",
                "^/api/(meetings|webhooks/meeting-baas)",
                "--suppress-health-check",
                "all",
                "--request-timeout",
                "30",
                "--report",
                "json",
                "--report-json-path",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        backend_log = backend.process.output()
    finally:
        backend.stop()
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]
    # Straight to the terminal (not captured): CI logs show the case count on every run.
    line = (
        f"schemathesis: {cases['generated']} cases over {summary['operations']['tested']} "
        f"operations, {cases['with_failures']} with failures (report: {report})"
    )
    with capsys.disabled():
        print(f"\n{line}")
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{backend_log[-3000:]}"
    assert summary["failures"] == [] and cases["with_failures"] == 0 and cases["errored"] == 0
    assert cases["generated"] >= 1000, "the fuzzer should exercise the API thoroughly"
    assert summary["operations"]["tested"] >= 18
    # The stateful phase ran: links were followed, writes read back.
    assert summary["phases"]["stateful"]["status"] == "success", summary["phases"]
