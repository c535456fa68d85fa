"""``python -m parley_agent dev|start|...`` from anywhere (the repo root included)."""

from parley_agent.worker import main

main()
