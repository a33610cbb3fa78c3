"""HTTP-level tests of the /v2/ API through the running gateway (tests/support/servers.py).

The session-scoped `registry` fixture and the log-tail report hook are the ones of
tests/clients/conftest.py, imported so that this directory starts the same server the
same way (MOORAGE_TEST_HOST=127.0.0.1:PORT reuses a running one).
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.clients.conftest import pytest_runtest_makereport, registry  # noqa: F401  (fixture + hook)
from tests.registry.helpers import Api


@pytest.fixture
def api(registry) -> Api:  # noqa: F811  (the imported fixture)
    with requests.Session() as session:
        yield Api(registry.url, session)


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    """A repository name of the `library` registry that no other test uses."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    return f"library/{stem or 't'}-{uuid.uuid4().hex[:8]}"
