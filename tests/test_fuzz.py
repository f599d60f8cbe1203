"""Fuzzing with hypothesis: model replies, search queries, stored contents and whole exchanges.

The properties live in ``bench/reliability.py``, which runs them with many
more examples for the README's figures. They add to the fuzz tests of
``test_parsing.py`` and ``test_search.py``: lone surrogates, null bytes,
almost-JSON built from pieces of real replies, and the whole path from an
exchange to stored cells.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from memkit.testing import properties

PROPERTIES = properties()


@pytest.mark.parametrize("name", list(PROPERTIES))
def test_property_holds_for_arbitrary_input(name: str) -> None:
    strategy, check = PROPERTIES[name]

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def run(value: Any) -> None:
        check(value)

    run()
