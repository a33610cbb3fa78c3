"""oras (the Python SDK, `oras.client.OrasClient`) pushes and pulls artifacts.

The SDK sets an artifact's type through the config media type (`manifest_config=
"path:media/type"`, an empty `{}` config when the file does not exist); it has no
`artifactType` argument, so that case is built with tests/support/images.py and
sent through the SDK's own upload_blob/upload_manifest helpers.
"""

import hashlib
import json
import random

import pytest

from tests.support.images import build_image, tar_layer

oras_client_module = pytest.importorskip("oras.client")

TITLE = "org.opencontainers.image.title"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _raw_manifest(oras, target: str) -> bytes:
    container = oras.get_container(target)
    response = oras.do_request(
        f"{oras.prefix}://{container.manifest_url()}",
        "GET",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert response.status_code == 200, response.text
    return response.content


def test_push_and_pull_file_artifact(oras, registry, tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"release notes\nline two\n")
    (tmp_path / "config.json").write_bytes(b'{"kind":"notes"}')
    target = f"{registry.host}/library/artifacts/notes:v1"

    pushed = oras.push(
        target=target,
        files=["notes.txt:text/plain"],
        manifest_config="config.json:application/vnd.example.notes.config.v1+json",
        manifest_annotations={"org.example.purpose": "test"},
        disable_path_validation=True,
        quiet=True,
    )

    assert pushed.status_code == 201
    raw = _raw_manifest(oras, target)
    assert pushed.headers["Docker-Content-Digest"] == _sha(raw)
    manifest = json.loads(raw)
    assert manifest["config"]["mediaType"] == "application/vnd.example.notes.config.v1+json"
    assert manifest["layers"][0]["mediaType"] == "text/plain"
    assert manifest["annotations"] == {"org.example.purpose": "test"}

    files = oras.pull(target=target, outdir=str(tmp_path / "out"))
    assert [p.rsplit("/", 1)[-1] for p in files] == ["notes.txt"]
    assert (tmp_path / "out" / "notes.txt").read_bytes() == b"release notes\nline two\n"
    assert oras.get_blob(target, manifest["config"]["digest"]).content == b'{"kind":"notes"}'


def test_chunked_upload(oras, registry, tmp_path):
    """POST, then one PATCH per 64 KiB with `Content-Range: <start>-<end>`, then PUT ?digest=."""
    data = random.Random(8).randbytes(300 * 1024 + 17)
    (tmp_path / "blob.bin").write_bytes(data)
    target = f"{registry.host}/library/artifacts/chunked:v1"

    pushed = oras.push(
        target=target, files=["blob.bin"], do_chunked=True, chunk_size=64 * 1024,
        disable_path_validation=True, quiet=True,
    )

    assert pushed.status_code == 201
    oras.pull(target=target, outdir=str(tmp_path / "out"))
    assert (tmp_path / "out" / "blob.bin").read_bytes() == data


def test_artifact_type_manifest_through_sdk_helpers(oras, registry, tmp_path):
    report = b'{"findings": []}\n'
    artifact = build_image(
        [report],
        artifact_type="application/vnd.example.report.v1",
        layer_media_type="application/json",
        layer_annotations=[{TITLE: "report.json"}],
    )
    target = f"{registry.host}/library/artifacts/report:v1"
    for blob in artifact.blobs():
        path = tmp_path / blob.hex
        path.write_bytes(blob.data)
        uploaded = oras.upload_blob(str(path), target, blob.descriptor())
        assert uploaded.status_code in (200, 201), uploaded.text

    put = oras.upload_manifest(artifact.manifest.json(), oras.get_container(target))

    assert put.status_code == 201, put.text
    # upload_manifest re-serializes the dict with requests' json.dumps defaults
    sent = json.dumps(artifact.manifest.json()).encode()
    assert put.headers["Docker-Content-Digest"] == _sha(sent)
    fetched = oras.get_manifest(target)
    assert fetched["artifactType"] == "application/vnd.example.report.v1"
    assert fetched["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    oras.pull(target=target, outdir=str(tmp_path / "out"))
    assert (tmp_path / "out" / "report.json").read_bytes() == report


def test_helm_chart_shaped_artifact(oras, registry, tmp_path):
    chart = tar_layer(
        {
            "demo/Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 0.1.0\n",
            "demo/values.yaml": b"replicaCount: 1\n",
            "demo/templates/deployment.yaml": b"kind: Deployment\n",
        }
    )
    config = b'{"name":"demo","version":"0.1.0","apiVersion":"v2"}'
    (tmp_path / "demo-0.1.0.tgz").write_bytes(chart)
    (tmp_path / "config.json").write_bytes(config)
    target = f"{registry.host}/library/charts/demo:0.1.0"

    pushed = oras.push(
        target=target,
        files=[f"demo-0.1.0.tgz:{HELM_CHART}"],
        manifest_config=f"config.json:{HELM_CONFIG}",
        disable_path_validation=True,
        quiet=True,
    )

    assert pushed.status_code == 201
    manifest = oras.get_manifest(target)
    assert manifest["config"] == {"mediaType": HELM_CONFIG, "size": len(config), "digest": _sha(config)}
    assert [(layer["mediaType"], layer["digest"]) for layer in manifest["layers"]] == [(HELM_CHART, _sha(chart))]
    assert oras.get_tags(target) == ["0.1.0"]
    oras.pull(target=target, outdir=str(tmp_path / "out"))
    assert (tmp_path / "out" / "demo-0.1.0.tgz").read_bytes() == chart
    assert oras.get_blob(target, _sha(config)).content == config
