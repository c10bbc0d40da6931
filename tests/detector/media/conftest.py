"""Helpers shared by the media tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from detector.errors import DetectorError, MediaError
from detector.media import read_frames


def error_code(path, **kwargs) -> str:
    """The ``code`` of the ``MediaError`` that reading ``path`` raises; its message must name the path."""
    with pytest.raises(MediaError) as err:
        read_frames(path, **kwargs)
    assert isinstance(err.value, DetectorError)
    assert err.value.message and str(path) in err.value.message
    return err.value.code


@pytest.fixture(scope="session")
def media_error_code() -> Callable[..., str]:
    """:func:`error_code`, as a fixture (test modules are imported in importlib mode)."""
    return error_code
