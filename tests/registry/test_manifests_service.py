"""ManifestService and ContentService against moto."""
from __future__ import annotations

import hashlib
import json

import pytest

from chalicelib.oci import Code, Digest, OciError, RepoName, Tag, OCI_INDEX, OCI_MANIFEST
from tests.moto_services import moto_services

NAME = RepoName.parse("library/web")


@pytest.fixture
def services():
    with moto_services(MOORAGE_INLINE_MANIFEST_MAX="600") as services:
        yield services


def _digest(data: bytes) -> Digest:
    return Digest.parse("sha256:" + hashlib.sha256(data).hexdigest())


def _blob(services, data: bytes) -> dict:
    session = services.uploads.start(NAME, "t")
    services.uploads.finish(NAME, session.id, _digest(data), data, "t")
    return {"mediaType": "application/octet-stream", "digest": str(_digest(data)), "size": len(data)}


def _manifest(config: dict, layers: list[dict], **extra) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {**config, "mediaType": "application/vnd.oci.image.config.v1+json"},
                       "layers": layers, **extra}).encode()


def test_put_then_get_by_tag_and_digest_keeps_exact_bytes(services):
    raw = _manifest(_blob(services, b"{}"), [_blob(services, b"layer")])
    result = services.manifests.put(NAME, Tag.parse("1"), OCI_MANIFEST, raw, "t")
    for reference in (Tag.parse("1"), Digest.parse(result.digest)):
        record = services.manifests.resolve(NAME, reference, [])
        assert services.manifests.content(NAME, record) == raw
        assert record.media_type == OCI_MANIFEST


def test_large_manifests_are_read_from_s3(services):
    layers = [_blob(services, b"layer%d" % i) for i in range(8)]
    raw = _manifest(_blob(services, b"{}"), layers)
    assert len(raw) > 600
    services.manifests.put(NAME, Tag.parse("big"), OCI_MANIFEST, raw, "t")
    record = services.manifests.resolve(NAME, Tag.parse("big"), [])
    assert record.inline is None
    assert services.manifests.content(NAME, record) == raw


def test_missing_blob_refuses_the_manifest_and_writes_nothing(services):
    raw = _manifest(_blob(services, b"{}"), [{"mediaType": "application/octet-stream",
                                              "digest": str(_digest(b"absent")), "size": 6}])
    with pytest.raises(OciError) as error:
        services.manifests.put(NAME, Tag.parse("1"), OCI_MANIFEST, raw, "t")
    assert error.value.code is Code.MANIFEST_BLOB_UNKNOWN
    assert error.value.detail == {"digest": str(_digest(b"absent"))}
    with pytest.raises(OciError):
        services.manifests.resolve(NAME, Tag.parse("1"), [])


def test_index_needs_its_children(services):
    child = _manifest(_blob(services, b"{}"), [])
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": str(_digest(child)), "size": len(child)}]}).encode()
    with pytest.raises(OciError) as error:
        services.manifests.put(NAME, Tag.parse("multi"), OCI_INDEX, index, "t")
    assert error.value.code is Code.MANIFEST_UNKNOWN
    services.manifests.put(NAME, _digest(child), OCI_MANIFEST, child, "t")
    services.manifests.put(NAME, Tag.parse("multi"), OCI_INDEX, index, "t")
    assert services.manifests.resolve(NAME, Tag.parse("multi"), []).references == (str(_digest(child)),)


def test_accept_header_that_excludes_the_type_is_manifest_unknown(services):
    raw = _manifest(_blob(services, b"{}"), [])
    services.manifests.put(NAME, Tag.parse("a"), OCI_MANIFEST, raw, "t")
    with pytest.raises(OciError) as error:
        services.manifests.resolve(NAME, Tag.parse("a"), ["application/vnd.docker.distribution.manifest.v2+json"])
    assert error.value.code is Code.MANIFEST_UNKNOWN


def test_delete_by_digest_removes_its_tags_and_referrer_entry(services):
    image = _manifest(_blob(services, b"{}"), [])
    subject = services.manifests.put(NAME, Tag.parse("a"), OCI_MANIFEST, image, "t")
    services.manifests.put(NAME, Tag.parse("b"), OCI_MANIFEST, image, "t")
    empty = _blob(services, b"{}")
    sbom = _manifest(empty, [], artifactType="application/spdx+json",
                     subject={"mediaType": OCI_MANIFEST, "digest": subject.digest, "size": len(image)})
    put = services.manifests.put(NAME, Tag.parse("sbom"), OCI_MANIFEST, sbom, "t")
    assert put.subject == subject.digest
    [referrer] = services.content.referrers(NAME, Digest.parse(subject.digest))
    assert referrer.artifact_type == "application/spdx+json"
    services.manifests.delete(NAME, Digest.parse(put.digest))
    assert services.content.referrers(NAME, Digest.parse(subject.digest)) == []
    assert services.content.tags(NAME, None, None) == ["a", "b"]
    services.manifests.delete(NAME, Digest.parse(subject.digest))
    assert services.content.tags(NAME, None, None) == []


def test_tags_are_sorted_and_paginate(services):
    raw = _manifest(_blob(services, b"{}"), [])
    for tag in ("v2", "latest", "v10", "V1", "1.0"):
        services.manifests.put(NAME, Tag.parse(tag), OCI_MANIFEST, raw, "t")
    assert services.content.tags(NAME, None, None) == ["1.0", "V1", "latest", "v10", "v2"]
    assert services.content.tags(NAME, "V1", 2) == ["latest", "v10"]


def test_catalog_lists_repositories_of_every_registry_in_order(services):
    services.registries.ensure("a-b", "t")
    raw = _manifest(_blob(services, b"{}"), [])
    services.manifests.put(NAME, Tag.parse("1"), OCI_MANIFEST, raw, "t")
    other = RepoName.parse("a-b/x")
    session = services.uploads.start(other, "t")
    services.uploads.finish(other, session.id, _digest(b"{}"), b"{}", "t")
    services.manifests.put(other, Tag.parse("1"), OCI_MANIFEST, raw, "t")
    assert services.content.catalog(None, None) == ["a-b/x", "library/web"]
    assert services.content.catalog("a-b/x", 1) == ["library/web"]
