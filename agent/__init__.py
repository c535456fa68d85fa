"""Parley's LiveKit Agents worker (installed as ``parley_agent``)."""
