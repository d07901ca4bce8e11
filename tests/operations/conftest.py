"""Ordering for the operations tests: the log scan runs after every other test of the
session, so it reads everything the servers logged."""
from __future__ import annotations

from typing import List

import pytest

RUNS_LAST = "runs_last"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{RUNS_LAST}: run after every other test of the session")


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: List[pytest.Item]
) -> None:
    last = [item for item in items if item.get_closest_marker(RUNS_LAST)]
    if last:
        items[:] = [item for item in items if not item.get_closest_marker(RUNS_LAST)] + last
