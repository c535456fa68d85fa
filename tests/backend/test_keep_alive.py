"""The backend keeps an idle connection open longer than the clients and proxies in front.

At uvicorn's default (5 s), a client reusing a connection idle for about that long (httpx's
own expiry is also 5 s) meets the server closing it and gets "Server disconnected without
sending a response": the meeting-chat e2e test failed so on a fresh-clone run.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from parley_common.testing.devstack import BACKEND_KEEP_ALIVE_S, start_backend

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
IDLE_S = 6.0  # past uvicorn's default keep-alive of 5 s


def _get_health(sock: socket.socket, port: int) -> bytes:
    sock.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_an_idle_connection_is_still_served_after_six_seconds(tmp_path: Path) -> None:
    backend = start_backend(tmp_path / "logs", {"PARLEY_DATA_DIR": str(tmp_path / "data")})
    try:
        with socket.create_connection(("127.0.0.1", backend.port), timeout=10) as sock:
            assert _get_health(sock, backend.port).startswith(b"HTTP/1.1 200")
            time.sleep(IDLE_S)
            second = _get_health(sock, backend.port)
            assert second.startswith(b"HTTP/1.1 200"), f"connection closed while idle: {second!r}"
    finally:
        backend.stop()


def test_the_backend_image_keeps_the_same_keep_alive() -> None:
    cmd = (REPO / "Dockerfile.backend").read_text()
    match = re.search(r'"--timeout-keep-alive", "(\d+)"', cmd)
    assert match, "Dockerfile.backend's CMD sets no --timeout-keep-alive"
    assert int(match.group(1)) == BACKEND_KEEP_ALIVE_S
    # Above nginx's default upstream keep-alive (60 s) and cloud load balancers' idle 60 s.
    assert BACKEND_KEEP_ALIVE_S > 60
