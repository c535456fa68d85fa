"""Run the whole stack on loopback until Ctrl-C: LiveKit server, backend, worker, web.

Started by ``make dev`` after ``scripts/setup``. No API keys needed: the worker picks the
local speech stack when no cloud keys are set.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from parley_common.testing.devstack import REPO_ROOT, free_port, start_stack


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--livekit-port", type=int, default=7880)
    parser.add_argument("--port", type=int, default=8000, help="backend and web port")
    parser.add_argument("--worker-mode", default="dev", choices=["dev", "start"])
    args = parser.parse_args()

    livekit_port = args.livekit_port if _port_free(args.livekit_port) else free_port()
    backend_port = args.port if _port_free(args.port) else free_port()
    log_dir = REPO_ROOT / "data" / "logs"
    print(f"starting LiveKit server, backend and worker (logs in {log_dir}) ...", flush=True)
    stack = start_stack(
        Path(log_dir),
        dev_keys=True,
        livekit_port=livekit_port,
        backend_port=backend_port,
        worker_mode=args.worker_mode,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"\n  Parley is running. Open {stack.backend.url}/\n  (Ctrl-C stops everything)\n",
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            for part in (stack.livekit.process, stack.backend.process, stack.worker.process):
                if not part.alive():
                    print(
                        f"{part.name} exited ({part.proc.returncode}); see {part.log_path}",
                        file=sys.stderr,
                    )
                    stop.set()
    finally:
        print("stopping ...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
