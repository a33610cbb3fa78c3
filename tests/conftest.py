"""Shared pytest configuration. Fixtures live next to the tests that use them
(tests/clients/conftest.py); reusable helpers live in tests/support/."""

from pathlib import Path

import pytest

_CLIENTS = Path(__file__).parent / "clients"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "clients: real-client tests (skopeo, oras) against a registry subprocess"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _CLIENTS in item.path.parents:
            item.add_marker(pytest.mark.clients)
