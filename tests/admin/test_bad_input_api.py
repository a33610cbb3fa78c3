"""Bad input to the management API gets a clear 4xx, never a 503: what fuzzing the API
against its OpenAPI document (test_openapi.py) found, and what was found next to it."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.images import build_image, tar_layer

from .conftest import TIMEOUT


@pytest.fixture(scope="module")
def name(admin) -> str:
    """A registry of these tests."""
    return admin.registry()


@pytest.fixture(scope="module")
def webhook(admin, name) -> str:
    created = admin.ok("POST", f"/registries/{name}/webhooks", 201,
                       json={"url": "https://hooks.example.com/moorage", "enabled": False})
    return f"/registries/{name}/webhooks/{created['id']}"


def test_digits_int_cannot_read_are_400(admin, name, webhook):
    # '²'.isdigit() is True, int('²') raises: it was a 503 wherever only isdigit() was asked.
    admin.error("GET", f"/registries/{name}/repositories?limit=²", 400, "INVALID_ARGUMENT")
    admin.error("GET", f"{webhook}/deliveries?limit=²", 400, "INVALID_ARGUMENT")
    admin.error("PATCH", f"/registries/{name}", 400, "INVALID_ARGUMENT", json={"description": "x"},
                headers={"If-Match": '"²"'.encode("latin-1")})


@pytest.mark.parametrize("url", ["http://[::1", "https://[abc/x"])
def test_a_webhook_url_that_does_not_parse_is_400(admin, name, url):
    admin.error("POST", f"/registries/{name}/webhooks", 400, "INVALID_ARGUMENT", json={"url": url})


def test_an_empty_query_value_is_as_if_none_was_sent(admin, webhook):
    assert admin.ok("GET", f"{webhook}/deliveries?limit=")["deliveries"] == []


def test_a_method_a_path_does_not_take_is_405_with_allow(admin, name):
    response = admin.call("PUT", f"/registries/{name}")
    assert response.status_code == 405 and response.headers["Allow"] == "DELETE, GET, PATCH"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_image_config_nested_too_deeply_has_no_created_time(admin, name):
    config = b"[" * 100_000 + b"]" * 100_000  # valid JSON, deeper than json.loads goes
    image = build_image([tar_layer({"a": b"a"})], config_data=config,
                        config_media_type="application/vnd.oci.image.config.v1+json")
    admin.v2.push(f"{name}/deep", image, "1")
    assert admin.ok("GET", f"/registries/{name}/repositories/deep/-/artifacts/1")["created"] is None


def test_json_nested_too_deeply_is_400(admin):
    message = admin.error("POST", "/registries", 400, "INVALID_JSON", data="[" * 30_000 + "]" * 30_000)
    assert "nested too deeply" in message


@pytest.mark.parametrize("path", ["/api/v1/registries", "/token"])
def test_basic_credentials_base64_has_no_place_for_are_401(moorage, path):
    response = requests.get(moorage.url + path, headers={"Authorization": "Basic é".encode("latin-1")},
                            timeout=TIMEOUT)
    assert response.status_code == 401, response.text
    assert "malformed Basic credentials" in response.text


@pytest.mark.parametrize("query", ["to=0001-01-02T00:00:00Z", "from=1969-12-31T23:00:00Z&to=1970-01-01T01:00:00Z"])
def test_audit_and_usage_times_before_1970_are_400(admin, name, query):
    # The stores write such years with fewer than four digits: a 503, or "from": "1-01-01T00:00:00Z".
    for path in ("/audit", f"/registries/{name}/usage"):
        assert "from 1970 on" in admin.error("GET", f"{path}?{query}", 400, "INVALID_ARGUMENT")


def test_a_role_is_granted_only_when_named(admin, name):
    user = "u" + uuid.uuid4().hex[:8]
    admin.ok("POST", "/users", 201, json={"name": user, "password": "correct horse"})
    admin.error("PUT", f"/registries/{name}/members/user/{user}", 400, "INVALID_ARGUMENT", json={})
    assert admin.ok("GET", f"/registries/{name}/members")["members"] == []
    for role in ({}, [], "", 0, False):
        admin.error("POST", f"/registries/{name}/robots", 400, "INVALID_ARGUMENT",
                    json={"name": "ci", "role": role})
    robot = admin.ok("POST", f"/registries/{name}/robots", 201, json={"name": "ci", "role": None})
    assert robot["roles"] == {}
