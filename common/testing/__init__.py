"""Tooling that tests, benchmarks and ``make dev`` share; nothing here ships in a process.

The agent and the backend never import this package (``tests/common/test_layout.py``
checks it), so a reader of ``parley_common`` sees at once what crosses between them at run
time (the modules beside this package) and what only drives them from outside (here):
``devstack`` starts real processes on free loopback ports, ``room_probe`` and
``speaking_probe`` listen and talk in a LiveKit room, ``openai_stub`` is a scripted
OpenAI-compatible server, ``speech_synth`` makes test speech with eSpeak NG.
"""
