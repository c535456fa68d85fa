"""Parley's FastAPI backend (installed as ``parley_backend``)."""
