"""Schema-driven fuzzing of the whole OpenAPI with schemathesis: zero server errors.

The real backend process (uvicorn) runs against a real LiveKit server, so room and dispatch
operations reach LiveKit for real; every generated request must get a non-5xx answer.
Meeting routes are left out: they front Meeting BaaS, a paid service that is faked in the
meeting bridge's own tests, and their 502 when it is unreachable is correct.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parley_common.testing.devstack import LiveKitServer, start_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AGENT_TOKEN = "fuzz-agent-token"
MAX_EXAMPLES = "15"  # ~1,400 cases; the coverage phase adds most of them


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
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{backend.url}/openapi.json",
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
