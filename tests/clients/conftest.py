"""The registry under test, started once per session (see tests/support/servers.py).

MOORAGE_TEST_TARGET=distribution runs the suite against CNCF Distribution instead
of moorage; MOORAGE_TEST_HOST=127.0.0.1:PORT uses a registry that is already running.
"""

import os
from collections.abc import Iterator

import pytest

from tests.support.servers import RegistryStartError, RunningRegistry, start_registry, stop_registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    target = os.environ.get("MOORAGE_TEST_TARGET", "moorage")
    try:
        running = start_registry(target, tmp_path_factory.mktemp(f"registry-{target}"))
    except RegistryStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield running
    stop_registry(running)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the tail of the registry's log to failing tests."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("registry")
    if report.failed and isinstance(running, RunningRegistry) and running.log_path is not None:
        report.sections.append(("registry log (tail)", running.log_tail(60)))
