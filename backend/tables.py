"""Imports every module that declares tables, so ``create_schema`` sees them all.

Add one import line per concern that owns tables (e.g. history, meetings).
"""

from parley_backend import history_tables  # noqa: F401
from parley_backend.meetings import tables as meeting_tables  # noqa: F401
