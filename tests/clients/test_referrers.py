"""The referrers API (distribution-spec 1.1): manifests with a `subject` pushed by
plain HTTP (tests/support/v2.py) and by oras, listed and filtered by artifactType."""

import json

import pytest

from chalicelib.scanner.service import REPORT_TYPE, SBOM_TYPE
from tests.support.auth import authed_session
from tests.support.images import OCI, build_image, build_index, random_layer, sha256_digest, tar_layer
from tests.support.v2 import V2Client

oras_oci = pytest.importorskip("oras.oci")

SBOM = "application/spdx+json"
SIGNATURE = "application/vnd.example.signature.v1"


def without_scan_results(manifests: list[dict]) -> list[dict]:
    """moorage scans what is pushed to `library` and attaches an SBOM and a report to the
    image when the scan is done, before or after a listing: only those may come besides a
    test's own referrers."""
    return [d for d in manifests if d.get("artifactType") not in (SBOM_TYPE, REPORT_TYPE)]


@pytest.fixture
def referrers_registry(registry):
    if registry.target == "distribution":
        pytest.skip("CNCF Distribution 2.8 has no referrers API (added in distribution-spec 1.1)")
    return registry


def test_referrers_list_and_filter(referrers_registry, oras, tmp_path):
    registry = referrers_registry
    repo = "library/refs/app"
    client = V2Client(registry.url, authed_session(registry))
    image = build_image([tar_layer({"app": b"v1"}), random_layer(16 * 1024, seed=9)])
    client.push(repo, image, "1")

    sbom = build_image(
        [b'{"spdxVersion":"SPDX-2.3"}'],
        artifact_type=SBOM,
        layer_media_type=SBOM,
        subject=image,
        annotations={"org.opencontainers.image.created": "1970-01-01T00:00:00Z", "org.example.sbom.format": "json"},
    )
    put = client.push(repo, sbom)  # by digest, no tag
    assert put.headers.get("OCI-Subject") == image.digest

    # An index referrer without artifactType: listed without one.
    attestations = build_index([build_image([b"{}"], artifact_type="application/vnd.example.att.v1")], subject=image)
    client.push(repo, attestations)

    # oras sets no artifactType: the referrers list must use config.mediaType instead.
    (tmp_path / "sig.bin").write_bytes(b"signature-bytes")
    signed = oras.push(
        target=f"{registry.host}/{repo}:sig",
        files=["sig.bin:application/octet-stream"],
        manifest_config=f"missing.json:{SIGNATURE}",  # absent file: an empty {} config of that type
        manifest_annotations={"org.example.signature.fingerprint": "abcd"},
        subject=oras_oci.Subject(mediaType=OCI.manifest, digest=image.digest, size=image.manifest.size),
        disable_path_validation=True,
        quiet=True,
    )
    assert signed.status_code == 201
    signature_digest = signed.headers["Docker-Content-Digest"]
    signature_raw = client.get_manifest(repo, signature_digest).content
    assert sha256_digest(signature_raw) == signature_digest

    listed = client.referrers(repo, image.digest)
    assert listed.status_code == 200, listed.text
    assert listed.headers["Content-Type"] == OCI.index
    body = listed.json()
    assert (body["schemaVersion"], body["mediaType"]) == (2, OCI.index)
    by_digest = {d["digest"]: d for d in without_scan_results(body["manifests"])}
    assert by_digest == {
        sbom.digest: {
            "mediaType": OCI.manifest,
            "digest": sbom.digest,
            "size": sbom.manifest.size,
            "artifactType": SBOM,
            "annotations": {"org.opencontainers.image.created": "1970-01-01T00:00:00Z", "org.example.sbom.format": "json"},
        },
        attestations.digest: {"mediaType": OCI.index, "digest": attestations.digest, "size": attestations.manifest.size},
        signature_digest: {
            "mediaType": OCI.manifest,
            "digest": signature_digest,
            "size": len(signature_raw),
            "artifactType": SIGNATURE,
            "annotations": {"org.example.signature.fingerprint": "abcd"},
        },
    }

    for artifact_type, expected in ((SBOM, {sbom.digest}), (SIGNATURE, {signature_digest}), ("text/none", set())):
        filtered = client.referrers(repo, image.digest, artifact_type=artifact_type)
        assert filtered.status_code == 200, filtered.text
        assert filtered.headers.get("OCI-Filters-Applied") == "artifactType"
        assert {d["digest"] for d in without_scan_results(filtered.json()["manifests"])} == expected


def test_referrers_of_a_manifest_without_any(referrers_registry):
    registry = referrers_registry
    client = V2Client(registry.url, authed_session(registry))
    image = build_image([tar_layer({"lonely": b"1"})])
    client.push("library/refs/none", image, "1")

    for digest in (image.digest, sha256_digest(b"never pushed")):
        listed = client.referrers("library/refs/none", digest)
        assert listed.status_code == 200, listed.text
        assert listed.headers["Content-Type"] == OCI.index
        body = json.loads(listed.content)
        assert {**body, "manifests": without_scan_results(body["manifests"])} == {
            "schemaVersion": 2, "mediaType": OCI.index, "manifests": []}
