"""The registry under test, started once per session (see tests/support/servers.py).

MOORAGE_TEST_TARGET=distribution runs the suite against CNCF Distribution instead
of moorage; MOORAGE_TEST_HOST=127.0.0.1:PORT uses a registry that is already running.
"""

import os
from collections.abc import Iterator

import pytest

from tests.support import skopeo
from tests.support.servers import RegistryStartError, RunningRegistry, start_registry, stop_registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    target = os.environ.get("MOORAGE_TEST_TARGET", "moorage")
    try:
        running = start_registry(target, tmp_path_factory.mktemp(f"registry-{target}"))
    except RegistryStartError as e:
        pytest.fail(str(e), pytrace=False)
    if running.username and skopeo.SKOPEO:
        skopeo.login(running.host, running.username, running.password)  # as a user would, once
    yield running
    stop_registry(running)


@pytest.fixture
def oras(registry, tmp_path, monkeypatch):
    """An OrasClient over plain HTTP that reads no host credentials (it looks in
    ~/.docker/config.json) and fails at once instead of retrying with 3**n s sleeps."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    oras_client = pytest.importorskip("oras.client")
    registry_class = pytest.importorskip("oras.provider").Registry
    monkeypatch.setattr(registry_class, "do_request", registry_class.do_request.__wrapped__)
    monkeypatch.chdir(tmp_path)
    client = oras_client.OrasClient(hostname=registry.host, insecure=True)
    if registry.username:  # what `oras login` does, minus writing ~/.docker/config.json
        client.auth.set_basic_auth(registry.username, registry.password)
    return client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the tail of the registry's log to failing tests."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("registry")
    if report.failed and isinstance(running, RunningRegistry) and running.log_path is not None:
        report.sections.append(("registry log (tail)", running.log_tail(60)))
