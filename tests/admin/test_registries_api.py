"""/api/v1/registries: create, describe, update, delete, with their bad inputs."""
from __future__ import annotations

import time

import pytest

from tests.support.images import build_image, tar_layer
from tests.support.v2 import V2Error


def test_create_describe_and_list(admin):
    name = admin.registry(description="team a", visibility="public", quota_bytes=1 << 30, scan_on_push=False)
    found = admin.ok("GET", f"/registries/{name}")
    assert found["description"] == "team a" and found["visibility"] == "public"
    assert found["quota_bytes"] == 1 << 30 and found["policy"] == {"scan_on_push": False}
    assert found["stored_bytes"] == 0 and found["repository_count"] == 0 and found["last_push"] is None
    assert name in [r["name"] for r in admin.ok("GET", "/registries")["registries"]]


@pytest.mark.parametrize("body, fragment", [
    ({"name": "Upper"}, "registry name"),
    ({"name": "a" * 64}, "registry name"),
    ({"name": "_x"}, "registry name"),
    ({"name": "ok", "visibility": "internal"}, "visibility"),
    ({"name": "ok", "quota_bytes": -1}, "quota_bytes"),
    ({"name": "ok", "quota_bytes": "1GB"}, "quota_bytes"),
    ({"name": "ok", "description": 5}, "description"),
    ({"name": "ok", "bucket": "Not_A_Bucket"}, "bucket"),
    ({"name": "ok", "bucket": "no-such-bucket-here"}, "does not exist"),
    ({"name": "ok", "policy": {"immutable_tags": ["[bad"]}}, "pattern"),
    ({"name": "ok", "colour": "red"}, "unknown field"),
])
def test_bad_registries_are_refused_and_nothing_is_made(admin, body, fragment):
    response = admin.call("POST", "/registries", json=body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]
    assert "ok" not in [r["name"] for r in admin.ok("GET", "/registries")["registries"]]


def test_duplicates_and_what_does_not_exist(admin):
    name = admin.registry()
    admin.error("POST", "/registries", 409, "ALREADY_EXISTS", json={"name": name})
    admin.error("GET", "/registries/nosuchregistry", 404, "NOT_FOUND")
    admin.error("PATCH", "/registries/nosuchregistry", 404, "NOT_FOUND", json={"description": "x"})
    admin.error("DELETE", "/registries/nosuchregistry", 404, "NOT_FOUND")


def test_updates_follow_the_etag(admin):
    name = admin.registry()
    response = admin.call("GET", f"/registries/{name}")
    etag = response.headers["ETag"]
    updated = admin.call("PATCH", f"/registries/{name}", json={"description": "one"}, headers={"If-Match": etag})
    assert updated.status_code == 200 and updated.headers["ETag"] != etag
    admin.error("PATCH", f"/registries/{name}", 412, "PRECONDITION_FAILED", json={"description": "two"},
                headers={"If-Match": etag})
    assert admin.ok("GET", f"/registries/{name}")["description"] == "one"
    admin.error("PATCH", f"/registries/{name}", 400, "INVALID_ARGUMENT", json={"name": "rename"})
    admin.error("PATCH", f"/registries/{name}", 400, "INVALID_ARGUMENT", json={"quota_bytes": -5})
    admin.error("PATCH", f"/registries/{name}", 400, "INVALID_ARGUMENT", json={})
    admin.error("PATCH", f"/registries/{name}", 400, "INVALID_ARGUMENT", json={"description": "x"},
                headers={"If-Match": "yesterday"})


def test_stats_quota_and_a_quota_below_usage(admin):
    name = admin.registry()
    image = build_image([tar_layer({"a.txt": b"a" * 1000})])
    assert admin.v2.push(f"{name}/app", image, "1").status_code == 201
    found = admin.ok("GET", f"/registries/{name}")
    size = sum(b.size for b in image.blobs())
    assert found["stored_bytes"] == size and found["repository_count"] == 1 and found["last_push"]
    message = admin.error("PATCH", f"/registries/{name}", 409, "CONFLICT", json={"quota_bytes": size - 1})
    assert f"stores {size} bytes" in message
    admin.ok("PATCH", f"/registries/{name}", json={"quota_bytes": size})
    more = build_image([tar_layer({"b.txt": b"b" * 10})])
    with pytest.raises(V2Error) as refused:
        admin.v2.push(f"{name}/app", more, "2")
    assert "-> 403" in str(refused.value) and "storage quota exceeded" in str(refused.value)
    assert admin.ok("GET", f"/registries/{name}")["stored_bytes"] == size


def test_delete_needs_force_when_not_empty_then_shows_progress_until_gone(admin):
    name = admin.registry()
    assert admin.v2.push(f"{name}/team/app", build_image([tar_layer({"x": b"x"})]), "1").status_code == 201
    admin.error("DELETE", f"/registries/{name}", 409, "CONFLICT")
    answer = admin.ok("DELETE", f"/registries/{name}?force=true", 202)
    assert answer["status"] in ("deleting", "deleted")
    deadline = time.monotonic() + 60
    while admin.call("GET", f"/registries/{name}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert admin.v2.get(admin.v2.v2(f"{name}/team/app", "manifests", "1")).status_code in (401, 403, 404)
    admin.registry()  # creating others still works


def test_an_empty_registry_is_deleted_at_once(admin):
    name = admin.registry()
    assert admin.ok("DELETE", f"/registries/{name}", 202)["status"] == "deleted"
    admin.error("GET", f"/registries/{name}", 404, "NOT_FOUND")


def test_a_caller_without_the_right_is_refused_whether_or_not_it_exists(admin):
    import uuid
    user, password = "u" + uuid.uuid4().hex[:8], "a-long-password-" + uuid.uuid4().hex[:6]
    admin.ok("POST", "/users", 201, json={"name": user, "password": password})
    name = admin.registry()
    for target in (name, "nosuchregistry"):
        for method, body in (("GET", None), ("PATCH", {"description": "x"}), ("DELETE", None)):
            response = admin.call(method, f"/registries/{target}", auth=(user, password), json=body)
            assert response.status_code == 403, (method, target, response.text)
    assert name not in [r["name"] for r in admin.ok("GET", "/registries", auth=(user, password))["registries"]]
