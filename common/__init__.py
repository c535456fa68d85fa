"""Code shared by the Parley agent worker and the backend (installed as ``parley_common``)."""
