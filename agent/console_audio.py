"""``agent.py console`` pre-flight: a clear message instead of a traceback where it cannot run.

The framework's console needs an interactive terminal, the PortAudio library (even with
``--text``, it imports ``sounddevice``) and, for speech, an input and an output device.
Servers and CI runners usually have none of these; there ``dev`` plus the web client is the
way to talk to the agent.
"""

from __future__ import annotations

import sys

_ALTERNATIVE = "use `python agent.py dev` and the web client instead"


class ConsoleUnavailableError(RuntimeError):
    """The console cannot run here; the message says why and what to do instead."""


def check_console_audio(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not sys.stdin.isatty():
        raise ConsoleUnavailableError(
            f"console needs an interactive terminal (a TTY); {_ALTERNATIVE}"
        )
    try:
        import sounddevice as sd  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:
        raise ConsoleUnavailableError(
            f"console needs the PortAudio library ({exc}); apt-get install libportaudio2, "
            f"or {_ALTERNATIVE}"
        ) from exc
    if "--text" in args:
        return
    missing = []
    for kind in ("input", "output"):
        try:
            sd.query_devices(kind=kind)
        except Exception:
            missing.append(kind)
    if missing:
        raise ConsoleUnavailableError(
            f"console found no audio {' or '.join(missing)} device; type instead with "
            f"`python agent.py console --text`, or {_ALTERNATIVE}"
        )
