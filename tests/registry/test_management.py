"""Management workflow (conformance 04_management): deleting tags, manifests and blobs,
and what each delete leaves behind."""

from __future__ import annotations

import pytest

from tests.registry.helpers import OCTET, artifact, assert_error, sha256, unique_repo, variant
from tests.support.images import OCI, build_image, build_index, tar_layer


def manifest(api, repo: str, reference: str, **kw):
    return api.get(api.v2(repo, "manifests", reference), headers={"Accept": f"{OCI.manifest}, {OCI.index}"}, **kw)


def test_delete_tag_keeps_the_manifest(api, repo, seed):
    image = api.copy_image(seed, repo, "t1")
    assert api.put_manifest(repo, "t2", image.manifest).status_code == 201
    response = api.delete(api.v2(repo, "manifests", "t1"))
    assert response.status_code == 202
    assert_error(manifest(api, repo, "t1"), 404, "MANIFEST_UNKNOWN")
    assert_error(api.head(api.v2(repo, "manifests", "t1")), 404)
    assert manifest(api, repo, image.digest).content == image.manifest.data
    assert manifest(api, repo, "t2").content == image.manifest.data
    assert api.tags(repo).json()["tags"] == ["t2"]
    for blob in image.blobs():
        assert api.head(api.v2(repo, "blobs", blob.digest)).status_code == 200
    assert_error(api.delete(api.v2(repo, "manifests", "t1")), 404, "MANIFEST_UNKNOWN")


def test_delete_manifest_by_digest_removes_its_tags(api, repo, seed):
    image = api.copy_image(seed, repo, "a")
    assert api.put_manifest(repo, "b", image.manifest).status_code == 201
    api.put_manifest(repo, "other", variant(image, "other"))
    response = api.delete(api.v2(repo, "manifests", image.digest))
    assert response.status_code == 202
    for reference in (image.digest, "a", "b"):
        assert_error(manifest(api, repo, reference), 404, "MANIFEST_UNKNOWN")
    assert api.tags(repo).json()["tags"] == ["other"]  # conformance: the list reflects the delete
    assert manifest(api, repo, "other").status_code == 200
    # The blobs stay until garbage collection; the manifest can be pushed again.
    assert api.head(api.v2(repo, "blobs", image.layers[0].digest)).status_code == 200
    assert api.put_manifest(repo, "again", image.manifest).status_code == 201
    assert manifest(api, repo, "again").content == image.manifest.data


def test_delete_manifest_twice(api, repo, seed):
    image = api.copy_image(seed, repo)
    assert api.delete(api.v2(repo, "manifests", image.digest)).status_code == 202
    assert_error(api.delete(api.v2(repo, "manifests", image.digest)), 404, "MANIFEST_UNKNOWN")


def test_delete_referrer_removes_its_referrers_entry(api, repo, seed):
    subject = api.copy_image(seed, repo, "subject")
    sig = artifact(seed.image, "application/vnd.example.sig", subject=subject)
    keep = artifact(seed.image, "application/vnd.example.keep", subject=subject)
    api.put_manifest(repo, sig.digest, sig.manifest)
    api.put_manifest(repo, keep.digest, keep.manifest)
    listed = api.get(api.v2(repo, "referrers", subject.digest)).json()["manifests"]
    assert sorted(d["digest"] for d in listed) == sorted([sig.digest, keep.digest])
    assert api.delete(api.v2(repo, "manifests", sig.digest)).status_code == 202
    listed = api.get(api.v2(repo, "referrers", subject.digest)).json()["manifests"]
    assert [d["digest"] for d in listed] == [keep.digest]
    assert manifest(api, repo, "subject").status_code == 200


def test_delete_index_keeps_its_children(api, repo, seed):
    child = api.copy_image(seed, repo)
    index = build_index([child])
    assert api.put_manifest(repo, "idx", index.manifest).status_code == 201
    assert api.delete(api.v2(repo, "manifests", index.digest)).status_code == 202
    assert_error(manifest(api, repo, "idx"), 404, "MANIFEST_UNKNOWN")
    assert manifest(api, repo, child.digest).status_code == 200


def test_delete_blob(api, repo):
    data = b"blob to delete"
    digest = api.push_blob(repo, data)
    other = unique_repo("other")
    assert api.mount(other, digest, repo).status_code == 201
    response = api.delete(api.v2(repo, "blobs", digest))
    assert response.status_code == 202
    assert_error(api.head(api.v2(repo, "blobs", digest)), 404)
    assert_error(api.get(api.v2(repo, "blobs", digest)), 404, "BLOB_UNKNOWN")
    assert_error(api.delete(api.v2(repo, "blobs", digest)), 404, "BLOB_UNKNOWN")
    # Only this repository's link went: the other repository still serves the bytes.
    assert api.pull_blob(other, digest) == data
    # And it can be pushed again.
    assert api.push_blob(repo, data) == digest
    assert api.pull_blob(repo, digest) == data


def test_manifest_push_after_its_blob_was_deleted_fails(api, repo):
    image = build_image([tar_layer({"x": b"deleted layer"})])
    for blob in image.blobs():
        api.push_blob(repo, blob.data)
    assert api.delete(api.v2(repo, "blobs", image.layers[0].digest)).status_code == 202
    assert_error(api.put_manifest(repo, "t", image.manifest), 404, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize(
    "kind, reference, code",
    [
        ("manifests", "no-such-tag", "MANIFEST_UNKNOWN"),
        ("manifests", sha256(b"no such manifest"), "MANIFEST_UNKNOWN"),
        ("blobs", sha256(b"no such blob"), "BLOB_UNKNOWN"),
    ],
)
def test_delete_unknown(api, seed, kind, reference, code):
    # In a repository that exists, and in one that does not.
    for repo in (seed.repo, unique_repo("never-pushed")):
        assert_error(api.delete(api.v2(repo, kind, reference)), 404, code, "NAME_UNKNOWN")


def test_delete_in_a_registry_that_does_not_exist(api):
    assert_error(api.delete(api.v2("nosuch/app", "manifests", sha256(b"m"))), 404, "MANIFEST_UNKNOWN", "NAME_UNKNOWN")
    assert_error(api.delete(api.v2("nosuch/app", "blobs", sha256(b"b"))), 404, "BLOB_UNKNOWN", "NAME_UNKNOWN")


def test_delete_upload_session_is_not_a_blob_delete(api, repo):
    digest = api.push_blob(repo, b"stays")
    location = api.start_upload(repo).headers["Location"]
    location = api.patch(api.url(location), data=b"stays", headers=OCTET).headers["Location"]
    assert api.delete(api.url(location)).status_code == 204
    assert api.head(api.v2(repo, "blobs", digest)).status_code == 200
