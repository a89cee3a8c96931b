"""pytest configuration of tests/python, and the `itsor` fixture of its HTTP tests."""

from __future__ import annotations

from typing import Iterator

import pytest

from itsor_server import Itsor


def pytest_configure(config):
    config.addinivalue_line("markers", "itsor_env(env): environment the test's `itsor serve` starts with")


@pytest.fixture
def itsor(request: pytest.FixtureRequest) -> Iterator[Itsor]:
    marker = request.node.get_closest_marker("itsor_env")
    server = Itsor(marker.args[0] if marker else {})
    yield server
    server.stop()
