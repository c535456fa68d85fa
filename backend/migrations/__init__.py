"""Alembic migrations of the backend's database (``env.py``, ``versions/``).

Run at start-up by ``parley_backend.db.create_schema``; by hand with ``alembic`` from the repo
root (``alembic.ini``): ``alembic upgrade head``, ``alembic revision --autogenerate -m ...``.
"""
