"""Start the images' virtualenv builds as soon as the session knows it runs the image tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.image_venvs import ImageVenvs

_venvs: ImageVenvs | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _venvs
    if session.config.option.collectonly or _venvs is not None:
        return
    if any(item.path.name == "test_images.py" for item in session.items):
        _venvs = ImageVenvs()
        _venvs.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _venvs is not None:
        _venvs.stop()


@pytest.fixture(scope="session")
def image_venvs() -> Iterator[ImageVenvs]:
    assert _venvs is not None, "the image venvs start when test_images.py is collected"
    yield _venvs
