"""Content policies as skopeo meets them: immutable tags, quotas and blocked pulls."""
from __future__ import annotations

import json
import os
import uuid

import pytest
import requests

from tests.support.images import build_image, random_layer, tar_layer, write_oci_layout
from tests.support.skopeo import SKIP_REASON, SKOPEO, SkopeoError, inspect_raw, run_skopeo

pytestmark = [pytest.mark.skipif(SKOPEO is None, reason=SKIP_REASON),
              pytest.mark.skipif(os.environ.get("MOORAGE_TEST_TARGET", "moorage") != "moorage",
                                 reason="content policies are moorage's own")]


def _api(registry, method: str, path: str, **kwargs) -> dict:
    response = requests.request(method, f"{registry.url}/api/v1{path}", auth=(registry.username, registry.password),
                                timeout=60, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def _registry(registry, **settings) -> str:
    name = "s" + uuid.uuid4().hex[:8]
    # Not scanned on push: a scan's SBOM and report would count in the quota checked here.
    _api(registry, "POST", "/registries", json={"name": name, "scan_on_push": False, **settings})
    return name


def _push(registry, tmp_path, image, name: str) -> None:
    layout = tmp_path / uuid.uuid4().hex
    write_oci_layout(layout, {"x": image})
    run_skopeo("copy", f"oci:{layout}:x", f"docker://{registry.host}/{name}")


def test_an_immutable_tag_refuses_a_different_image_from_skopeo(registry, tmp_path):
    name = _registry(registry, policy={"immutable_tags": ["v*"]})
    first = build_image([tar_layer({"a": b"first"})])
    _push(registry, tmp_path, first, f"{name}/app:v1")
    _push(registry, tmp_path, first, f"{name}/app:v1")  # the same image again: fine
    with pytest.raises(SkopeoError) as refused:
        _push(registry, tmp_path, build_image([tar_layer({"a": b"second"})]), f"{name}/app:v1")
    assert "immutable" in refused.value.stderr
    with pytest.raises(SkopeoError):
        run_skopeo("delete", f"docker://{registry.host}/{name}/app:v1")
    inspected = json.loads(inspect_raw(f"docker://{registry.host}/{name}/app:v1"))
    assert inspected["layers"][0]["digest"] == first.layers[0].digest
    _push(registry, tmp_path, build_image([tar_layer({"a": b"second"})]), f"{name}/app:latest")


def test_a_push_beyond_the_quota_is_denied_and_says_by_how_much(registry, tmp_path):
    small = build_image([random_layer(64 * 1024, seed=7)])
    quota = sum(b.size for b in small.blobs()) + 100
    name = _registry(registry, quota_bytes=quota)
    _push(registry, tmp_path, small, f"{name}/app:1")
    with pytest.raises(SkopeoError) as refused:
        _push(registry, tmp_path, build_image([random_layer(64 * 1024, seed=8)]), f"{name}/app:2")
    assert "quota" in refused.value.stderr and "exceed it by" in refused.value.stderr
    assert _api(registry, "GET", f"/registries/{name}")["stored_bytes"] == quota - 100


def test_a_pull_blocked_by_the_scan_summary_is_denied_with_the_reason(registry, tmp_path):
    """The scan result is written straight into the table here (the scanner is its own suite)."""
    name = _registry(registry)
    image = build_image([tar_layer({"bad": b"bad"})])
    _push(registry, tmp_path, image, f"{name}/app:1")
    inspect_raw(f"docker://{registry.host}/{name}/app:1")
    _api(registry, "PATCH", f"/registries/{name}", json={"policy": {"block_pull": {"severity": "HIGH"}}})
    _store_scan_summary(registry, name, "app", image.digest, {"CRITICAL": ["CVE-2099-0001"]})
    with pytest.raises(SkopeoError) as refused:
        run_skopeo("copy", f"docker://{registry.host}/{name}/app:1", f"oci:{tmp_path / 'out'}:1")
    assert "CVE-2099-0001" in refused.value.stderr and "blocked" in refused.value.stderr


def _store_scan_summary(registry, name: str, repository: str, digest: str, ids: dict) -> None:
    import boto3

    from chalicelib.store import keys
    table = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=_storage_endpoint(registry, name, digest),
                         aws_access_key_id="moorage", aws_secret_access_key="moorage")
    summary = {"status": "completed", "severity_counts": {k: len(v) for k, v in ids.items()}, "vulnerabilities": ids}
    table.update_item(TableName="moorage", Key={"pk": {"S": keys.repo_pk(name, repository)},
                                               "sk": {"S": keys.manifest_sk(digest)}},
                      UpdateExpression="SET #scan = :s", ExpressionAttributeNames={"#scan": "scan"},
                      ExpressionAttributeValues={":s": {"S": json.dumps(summary)}})


def _storage_endpoint(registry, name: str, digest: str) -> str:
    """The embedded storage's address, as a blob GET's redirect to it tells."""
    from urllib.parse import urlsplit

    from tests.support.auth import authed_session

    manifest = authed_session(registry).get(f"{registry.url}/v2/{name}/app/manifests/{digest}", timeout=60,
                                            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    redirect = authed_session(registry).get(f"{registry.url}/v2/{name}/app/blobs/{manifest['config']['digest']}",
                                            allow_redirects=False, timeout=60)
    assert redirect.status_code == 307, redirect.text
    location = urlsplit(redirect.headers["Location"])
    return f"{location.scheme}://{location.netloc}"
