"""Pull workflow (conformance 01_pull): the base route, manifests by tag and digest with
Accept negotiation, blobs by HEAD and by GET (a 307 to storage on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest

from tests.registry.helpers import LOOPBACK, assert_error, sha256, unique_repo
from tests.support.images import DOCKER, OCI, build_image, build_index, random_layer, tar_layer

UNKNOWN_DIGEST = sha256(b"moorage: nothing has this digest")


@pytest.fixture(scope="module")
def repo():
    return unique_repo("pull")


@pytest.fixture(scope="module")
def pushed(api, repo):
    """An OCI image, a Docker schema 2 image and an OCI index over two images, tagged."""
    oci = build_image([tar_layer({"etc/pull.txt": b"pull\n"}), random_layer(32 * 1024, seed=101)])
    docker = build_image([tar_layer({"etc/docker.txt": b"docker\n"})], media="docker")
    arm = build_image([tar_layer({"etc/arm.txt": b"arm\n"})], arch="arm64")
    index = build_index([oci, arm])
    api.push(repo, oci, "oci")
    api.push(repo, docker, "docker")
    api.push(repo, index, "index")
    return {"oci": oci, "docker": docker, "index": index}


# ---- base ------------------------------------------------------------------------------


def test_base_route(api):
    for response in (api.get("/v2/"), api.head("/v2/")):
        assert response.status_code == 200
        assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert api.get("/v2/").json() == {}


def test_base_route_without_trailing_slash(api):
    response = api.raw("GET", "/v2")
    assert response.status == 200
    assert response.headers["docker-distribution-api-version"] == "registry/2.0"


# ---- manifests -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["oci", "docker", "index"])
def test_get_manifest_by_tag_and_digest(api, repo, pushed, name):
    item = pushed[name]
    for reference in (name, item.digest):
        response = api.get(api.v2(repo, "manifests", reference), headers={"Accept": item.media_type})
        assert response.status_code == 200, response.text
        assert response.content == item.manifest.data  # the exact bytes pushed
        assert response.headers["Content-Type"] == item.media_type
        assert response.headers["Docker-Content-Digest"] == item.digest
        assert int(response.headers["Content-Length"]) == item.manifest.size
        assert sha256(response.content) == item.digest


@pytest.mark.parametrize("name", ["oci", "docker", "index"])
def test_head_manifest_by_tag_and_digest(api, repo, pushed, name):
    item = pushed[name]
    for reference in (name, item.digest):
        response = api.head(api.v2(repo, "manifests", reference), headers={"Accept": item.media_type})
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["Content-Type"] == item.media_type
        assert response.headers["Docker-Content-Digest"] == item.digest
        assert int(response.headers["Content-Length"]) == item.manifest.size


def test_get_manifest_without_accept_header(api, repo, pushed):
    # No Accept at all: any stored type is acceptable.
    response = api.raw("GET", f"/v2/{repo}/manifests/oci")
    assert response.status == 200
    assert response.body == pushed["oci"].manifest.data
    assert response.headers["content-type"] == OCI.manifest


def test_index_children_are_pullable_by_digest(api, repo, pushed):
    index = pushed["index"]
    listed = [d["digest"] for d in json.loads(index.manifest.data)["manifests"]]
    assert listed == [image.digest for image in index.images]
    for image in index.images:
        response = api.get(api.v2(repo, "manifests", image.digest), headers={"Accept": OCI.manifest})
        assert response.status_code == 200
        assert response.content == image.manifest.data


def test_accept_negotiation_with_several_accept_headers(api, repo, pushed):
    path = f"/v2/{repo}/manifests/oci"
    # Two separate Accept header lines; the second one names the stored type.
    response = api.raw("GET", path, [("Accept", DOCKER.manifest), ("Accept", OCI.manifest)])
    assert response.status == 200
    assert response.body == pushed["oci"].manifest.data
    assert response.headers["content-type"] == OCI.manifest
    # One comma-separated value with quality parameters.
    response = api.raw("GET", path, [("Accept", f"{DOCKER.manifest};q=0.9, {OCI.manifest};q=0.5")])
    assert response.status == 200
    # Wildcards.
    for accept in ("*/*", "application/*"):
        assert api.raw("GET", path, [("Accept", accept)]).status == 200


@pytest.mark.parametrize(
    "accept",
    [
        DOCKER.manifest,
        f"{DOCKER.manifest}, {DOCKER.index}",
        "application/json",
        f"*/*, {OCI.manifest};q=0",  # explicitly refused
    ],
)
def test_accept_that_excludes_the_stored_type_is_manifest_unknown(api, repo, pushed, accept):
    for reference in ("oci", pushed["oci"].digest):
        url = api.v2(repo, "manifests", reference)
        assert_error(api.get(url, headers={"Accept": accept}), 404, "MANIFEST_UNKNOWN")
        assert_error(api.head(url, headers={"Accept": accept}), 404)


def test_accept_excluding_docker_and_index_types(api, repo, pushed):
    assert_error(api.get(api.v2(repo, "manifests", "docker"), headers={"Accept": OCI.manifest}),
                 404, "MANIFEST_UNKNOWN")
    assert_error(api.get(api.v2(repo, "manifests", "index"), headers={"Accept": OCI.manifest}),
                 404, "MANIFEST_UNKNOWN")
    ok = api.get(api.v2(repo, "manifests", "index"), headers={"Accept": f"{OCI.manifest}, {OCI.index}"})
    assert ok.status_code == 200 and ok.headers["Content-Type"] == OCI.index


def test_unknown_manifest(api, repo, pushed):
    for reference in ("no-such-tag", UNKNOWN_DIGEST):
        url = api.v2(repo, "manifests", reference)
        assert_error(api.get(url), 404, "MANIFEST_UNKNOWN")
        assert_error(api.head(url), 404)


def test_manifest_of_unknown_repository(api):
    assert_error(api.get(api.v2(unique_repo("never-pushed"), "manifests", "latest")), 404,
                 "MANIFEST_UNKNOWN", "NAME_UNKNOWN")
    assert_error(api.get(api.v2("nosuch/app", "manifests", "latest")), 404, "MANIFEST_UNKNOWN", "NAME_UNKNOWN")


def test_manifest_is_not_visible_from_another_repository(api, repo, pushed):
    other = repo + "-other"
    assert_error(api.get(api.v2(other, "manifests", pushed["oci"].digest)), 404, "MANIFEST_UNKNOWN")


def test_large_manifest_round_trips_exactly(api, repo, pushed):
    """Past the inline limit (128 KiB) the manifest is served from object storage."""
    image = build_image([tar_layer({"big": b"manifest"})],
                        annotations={"org.example.pad": "é" * (100 * 1024)})  # non-ASCII too
    assert image.manifest.size > 200 * 1024
    api.push(repo, image, "big")
    response = api.get(api.v2(repo, "manifests", "big"), headers={"Accept": OCI.manifest})
    assert response.status_code == 200
    assert response.content == image.manifest.data
    assert int(response.headers["Content-Length"]) == image.manifest.size
    assert response.headers["Docker-Content-Digest"] == image.digest


# ---- blobs -----------------------------------------------------------------------------


def test_head_blob(api, repo, pushed):
    image = pushed["oci"]
    for blob in image.blobs():
        response = api.head(api.v2(repo, "blobs", blob.digest))
        assert response.status_code == 200
        assert response.content == b""
        assert int(response.headers["Content-Length"]) == blob.size
        assert response.headers["Docker-Content-Digest"] == blob.digest


def test_get_blob_redirects_to_loopback_storage(api, repo, pushed):
    for blob in pushed["oci"].blobs():
        response = api.get(api.v2(repo, "blobs", blob.digest))
        assert response.status_code == 307
        assert response.content == b""  # the function never returns blob bytes
        assert response.headers["Docker-Content-Digest"] == blob.digest
        assert api.pull_blob(repo, blob.digest) == blob.data


def test_get_blob_following_redirects(api, repo, pushed):
    blob = pushed["oci"].layers[1]
    response = api.get(api.v2(repo, "blobs", blob.digest), allow_redirects=True)
    assert response.status_code == 200
    assert response.content == blob.data
    assert all(r.status_code == 307 for r in response.history)
    assert response.url.startswith(f"http://{LOOPBACK}:")


def test_unknown_blob(api, repo, pushed):
    url = api.v2(repo, "blobs", UNKNOWN_DIGEST)
    assert_error(api.get(url), 404, "BLOB_UNKNOWN")
    assert_error(api.head(url), 404)


def test_blob_is_not_visible_from_another_repository(api, repo, pushed):
    blob = pushed["oci"].layers[0]
    other = repo + "-other"
    assert_error(api.get(api.v2(other, "blobs", blob.digest)), 404, "BLOB_UNKNOWN")
    assert_error(api.head(api.v2(other, "blobs", blob.digest)), 404)


def test_blob_with_sha512_digest_is_unknown_not_invalid(api, repo, pushed):
    assert_error(api.get(api.v2(repo, "blobs", "sha512:" + "a" * 128)), 404, "BLOB_UNKNOWN")
