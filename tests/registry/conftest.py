"""HTTP-level tests of the /v2/ API through the running gateway (tests/support/servers.py).

The session-scoped `registry` fixture and the log-tail report hook are the ones of
tests/clients/conftest.py, imported so that this directory starts the same server the
same way (MOORAGE_TEST_HOST=127.0.0.1:PORT reuses a running one).

The server is shared by the whole session, so every test works in repositories of its own
(`repo`, `unique_repo`). Writes are kept few on purpose: the embedded moto copies the whole
table for every item of a DynamoDB transaction, so each manifest push or blob commit costs
more as the table grows. Tests that only need some image mount the `seed` image's blobs
(one cheap write each) instead of uploading them again.
"""

from __future__ import annotations

import pytest

from tests.clients.conftest import pytest_runtest_makereport, registry  # noqa: F401  (fixture + hook)
from tests.registry.helpers import Api, Seed, unique_repo
from tests.support.auth import authed_session
from tests.support.images import build_image, tar_layer


@pytest.fixture(scope="session")
def api(registry) -> Api:  # noqa: F811  (the imported fixture)
    if registry.target == "distribution":
        pytest.skip("these tests pin moorage's contract (the `library` registry, 307 to storage, "
                    "single-POST uploads, referrers); CNCF Distribution 2.8 differs on purpose")
    with authed_session(registry) as session:
        yield Api(registry.url, session, (registry.username, registry.password))


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    return unique_repo(request.node.name)


@pytest.fixture(scope="session")
def seed(api) -> Seed:
    """One small image pushed once; tests that only need *some* image in their own
    repository mount its blobs from here (cheap) and put the manifest."""
    image = build_image([tar_layer({"etc/seed.txt": b"seed\n"})])
    repo = unique_repo("seed")
    api.push(repo, image, "seed")
    return Seed(repo, image)
