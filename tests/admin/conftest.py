"""HTTP tests of the management API against the running server (tests/support/servers.py)."""
from __future__ import annotations

import os
import uuid

import pytest
import requests

from tests.clients.conftest import pytest_runtest_makereport, registry  # noqa: F401  (fixture + hook)
from tests.registry.helpers import Api
from tests.support.auth import authed_session

TIMEOUT = 60


@pytest.fixture(scope="session")
def moorage(registry):  # noqa: F811  (the imported fixture)
    if os.environ.get("MOORAGE_TEST_TARGET", "moorage") != "moorage":
        pytest.skip("the management API is moorage's own")
    return registry


class Admin:
    """/api/v1 as the administrator (HTTP Basic), and /v2/ to push content."""

    def __init__(self, registry):
        self.base = registry.url
        self.auth = (registry.username, registry.password)
        self.v2 = Api(registry.url, authed_session(registry), self.auth)

    def call(self, method: str, path: str, auth="admin", **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return requests.request(method, f"{self.base}/api/v1{path}", auth=self.auth if auth == "admin" else auth,
                                **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs) -> dict:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def error(self, method: str, path: str, status: int, code: str, **kwargs) -> str:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        body = response.json()
        assert body["error"]["code"] == code, body
        return body["error"]["message"]

    def registry(self, **settings) -> str:
        """A new registry; not scanned on push unless asked, so that the counts, sizes and
        referrers the tests check are only what they pushed (a scan attaches its SBOM and report)."""
        name = "r" + uuid.uuid4().hex[:10]
        settings.setdefault("scan_on_push", False)
        self.ok("POST", "/registries", 201, json={"name": name, **settings})
        return name


@pytest.fixture(scope="session")
def admin(moorage) -> Admin:
    return Admin(moorage)
