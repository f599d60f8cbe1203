"""Run the notebooks under nbval as a reader would run them first: offline, with nothing left to set up."""

from __future__ import annotations

import os

import pytest

#: Variables that would make the notebooks leave the offline engine (and need a network).
BACKEND_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MEMKIT_BACKEND", "MEMKIT_MODEL", "MEMKIT_BASE_URL")

#: With --doctest-modules, pytest would also collect this file as a module named "conftest",
#: the name exercises/conftest.py has too, and stop on the clash. It holds no doctests.
collect_ignore = ["conftest.py"]


def pytest_configure(config: pytest.Config) -> None:
    """Clear model settings before any notebook kernel starts, and warm matplotlib's font cache.

    A kernel inherits this process's environment. A fresh install builds the font
    cache on first import and says so on stderr, which would land in a cell's output.
    """
    for name in BACKEND_ENV:
        os.environ.pop(name, None)
    import matplotlib.font_manager  # noqa: F401
