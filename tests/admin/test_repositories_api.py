"""/api/v1/…/repositories, /-/tags, /-/artifacts, retention and gc over HTTP."""
from __future__ import annotations

import uuid

import pytest

from tests.registry.helpers import artifact
from tests.support.images import build_image, build_index, tar_layer


@pytest.fixture(scope="module")
def content(admin):
    """A registry with a nested repository holding an image (tags 1 and latest), a
    two-platform index and an SBOM-like referrer of the image."""
    registry = admin.registry()
    repo = f"{registry}/team/app"
    image = build_image([tar_layer({"etc/a": b"a"}), tar_layer({"etc/b": b"bb"})])
    admin.v2.push(repo, image, "1")
    admin.v2.push(repo, image, "latest")
    index = build_index([build_image([tar_layer({"arm": b"arm"})], arch="arm64"),
                         build_image([tar_layer({"amd": b"amd"})], arch="amd64")])
    admin.v2.push(repo, index, "multi")
    sbom = artifact(image, "application/vnd.example.sbom", subject=image)
    assert admin.v2.put_manifest(repo, sbom.digest, sbom.manifest).status_code == 201
    admin.v2.push(f"{registry}/other", build_image([tar_layer({"o": b"o"})]), "1")
    return {"registry": registry, "repo": "team/app", "image": image, "index": index, "sbom": sbom}


def _repo(content, suffix: str = "") -> str:
    return f"/registries/{content['registry']}/repositories/{content['repo']}{suffix}"


def test_list_search_and_paginate_repositories(admin, content):
    base = f"/registries/{content['registry']}/repositories"
    names = [r["name"] for r in admin.ok("GET", base)["repositories"]]
    assert names == ["other", "team/app"]
    assert [r["name"] for r in admin.ok("GET", base + "?q=team")["repositories"]] == ["team/app"]
    first = admin.ok("GET", base + "?limit=1")
    assert [r["name"] for r in first["repositories"]] == ["other"]
    second = admin.ok("GET", base + f"?limit=1&cursor={first['next_cursor']}")
    assert [r["name"] for r in second["repositories"]] == ["team/app"] and "next_cursor" not in second
    admin.error("GET", base + "?limit=0", 400, "INVALID_ARGUMENT")
    admin.error("GET", base + "?cursor=%%%", 400, "INVALID_ARGUMENT")
    admin.error("GET", "/registries/nosuchregistry/repositories", 404, "NOT_FOUND")


def test_describe_a_repository(admin, content):
    found = admin.ok("GET", _repo(content))
    assert found["full_name"] == f"{content['registry']}/team/app"
    assert found["tag_count"] == 3 and found["artifact_count"] == 5  # image, index + 2 children, sbom
    assert found["size_bytes"] > 0 and found["last_push"] and found["status"] == "active"
    admin.error("GET", f"/registries/{content['registry']}/repositories/team/nothing", 404, "NOT_FOUND")
    admin.error("GET", f"/registries/{content['registry']}/repositories/Team/App", 400, "NAME_INVALID")


def test_repository_updates_follow_the_etag(admin):
    registry = admin.registry()
    admin.v2.push(f"{registry}/team/web", build_image([tar_layer({"w": b"w"})]), "1")
    path = f"/registries/{registry}/repositories/team/web"
    etag = admin.call("GET", path).headers["ETag"]
    updated = admin.call("PATCH", path, json={"description": "one"}, headers={"If-Match": etag})
    assert updated.status_code == 200 and updated.headers["ETag"] != etag
    assert admin.call("GET", path).headers["ETag"] == updated.headers["ETag"] == f'"{updated.json()["revision"]}"'
    admin.error("PATCH", path, 412, "PRECONDITION_FAILED", json={"description": "two"}, headers={"If-Match": etag})


def test_tags_and_artifacts(admin, content):
    tags = {t["name"]: t for t in admin.ok("GET", _repo(content, "/-/tags"))["tags"]}
    assert set(tags) == {"1", "latest", "multi"}
    assert tags["1"]["digest"] == content["image"].digest and tags["1"]["pushed_by"] == "user:admin"
    artifacts = {a["digest"]: a for a in admin.ok("GET", _repo(content, "/-/artifacts"))["artifacts"]}
    image = artifacts[content["image"].digest]
    assert image["tags"] == ["1", "latest"] and image["pushed_by"] == "user:admin"
    assert image["size"] == content["image"].manifest.size + sum(b.size for b in content["image"].blobs())
    index = artifacts[content["index"].digest]
    assert sorted(p["architecture"] for p in index["platforms"]) == ["amd64", "arm64"]
    assert artifacts[content["sbom"].digest]["artifact_type"] == "application/vnd.example.sbom"
    detail = admin.ok("GET", _repo(content, f"/-/artifacts/{content['image'].digest}"))
    assert [layer["digest"] for layer in detail["layers"]] == [b.digest for b in content["image"].layers]
    assert [r["digest"] for r in detail["referrers"]] == [content["sbom"].digest]
    assert detail["created"] is not None
    assert admin.ok("GET", _repo(content, "/-/artifacts/latest"))["digest"] == content["image"].digest
    admin.error("GET", _repo(content, "/-/artifacts/nosuchtag"), 404, "NOT_FOUND")
    admin.error("GET", _repo(content, "/-/artifacts/sha256:abc"), 400, "DIGEST_INVALID")


def test_delete_a_tag_then_an_artifact(admin):
    registry = admin.registry()
    image = build_image([tar_layer({"d": b"d"})])
    admin.v2.push(f"{registry}/app", image, "a")
    admin.v2.push(f"{registry}/app", image, "b")
    base = f"/registries/{registry}/repositories/app"
    assert admin.ok("DELETE", base + "/-/tags/a")["deleted"] == f"{registry}/app:a"
    admin.error("DELETE", base + "/-/tags/a", 404, "MANIFEST_UNKNOWN")
    admin.error("DELETE", base + "/-/artifacts/b", 400, "INVALID_ARGUMENT")
    admin.ok("DELETE", base + f"/-/artifacts/{image.digest}")
    assert admin.ok("GET", base + "/-/tags")["tags"] == []
    admin.error("DELETE", base + f"/-/artifacts/{image.digest}", 404, "MANIFEST_UNKNOWN")


def test_repository_policy_overrides_and_immutability(admin):
    registry = admin.registry(policy={"immutable_tags": ["v*"]})
    image = build_image([tar_layer({"v": b"1"})])
    admin.v2.push(f"{registry}/app", image, "v1")
    base = f"/registries/{registry}/repositories/app"
    message = admin.error("DELETE", base + "/-/tags/v1", 403, "DENIED")
    assert "immutable" in message and "'v*'" in message
    assert admin.ok("GET", base + "/-/tags")["tags"][0]["immutable"] is True
    admin.error("PATCH", base, 400, "INVALID_ARGUMENT", json={"policy": {"immutable_tags": "v*"}})
    admin.error("PATCH", base, 400, "INVALID_ARGUMENT", json={"owner": "me"})
    updated = admin.ok("PATCH", base, json={"description": "the app", "policy": {"immutable_tags": []}})
    assert updated["description"] == "the app" and updated["policy"] == {"immutable_tags": []}
    policy = admin.ok("GET", base + "/-/policy")
    assert policy["effective"]["immutable_tags"] == [] and policy["sources"]["immutable_tags"] == "repository"
    admin.ok("DELETE", base + "/-/tags/v1")


def test_delete_a_repository(admin):
    registry = admin.registry()
    admin.v2.push(f"{registry}/a/b", build_image([tar_layer({"x": b"x"})]), "1")
    assert admin.ok("DELETE", f"/registries/{registry}/repositories/a/b")["status"] == "deleted"
    admin.error("GET", f"/registries/{registry}/repositories/a/b", 404, "NOT_FOUND")
    admin.error("DELETE", f"/registries/{registry}/repositories/a/b", 404, "NOT_FOUND")
    assert admin.ok("GET", f"/registries/{registry}/repositories")["repositories"] == []


def test_retention_dry_run_then_real_run(admin):
    registry = admin.registry()
    for n in range(3):
        admin.v2.push(f"{registry}/app", build_image([tar_layer({"n": b"%d" % n})]), f"v{n}")
    admin.ok("PATCH", f"/registries/{registry}", json={"policy": {"retention": [{"keep_last": 1, "tags": "v*"}]}})
    dry = admin.ok("POST", f"/registries/{registry}/retention?dry_run=true")
    assert sorted(t["tag"] for t in dry["repositories"][0]["tags"]) == ["v0", "v1"] and dry["bytes_freed"] > 0
    assert len(admin.ok("GET", f"/registries/{registry}/repositories/app/-/tags")["tags"]) == 3
    real = admin.ok("POST", f"/registries/{registry}/retention")
    assert real["repositories"] == dry["repositories"]
    assert [t["name"] for t in admin.ok("GET", f"/registries/{registry}/repositories/app/-/tags")["tags"]] == ["v2"]
    admin.error("POST", f"/registries/{registry}/retention?dry_run=maybe", 400, "INVALID_ARGUMENT")


def test_gc_dry_run_answers_a_report(admin):
    report = admin.ok("POST", "/gc?dry_run=true")
    assert report["dry_run"] is True and set(report) >= {"blobs", "blob_links", "bytes_freed", "marks_read"}


def test_a_guest_reads_but_cannot_change_or_delete(admin, content):
    user, password = "g" + uuid.uuid4().hex[:8], "a-long-password-" + uuid.uuid4().hex[:6]
    admin.ok("POST", "/users", 201, json={"name": user, "password": password})
    admin.ok("PUT", f"/registries/{content['registry']}/members/user/{user}", json={"role": "Guest"})
    guest = (user, password)
    assert admin.call("GET", _repo(content, "/-/tags"), auth=guest).status_code == 200
    for method, path in (("PATCH", _repo(content)), ("DELETE", _repo(content, "/-/tags/1")),
                         ("DELETE", _repo(content)), ("POST", f"/registries/{content['registry']}/retention"),
                         ("POST", "/gc")):
        assert admin.call(method, path, auth=guest, json={"description": "x"}).status_code == 403, (method, path)
