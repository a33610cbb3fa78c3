import gzip
import hashlib
import io
import json
import random
import tarfile
import time

import pytest

from tests.support.images import (
    DOCKER,
    EMPTY_JSON_MEDIA_TYPE,
    OCI,
    Blob,
    build_image,
    build_index,
    diff_id,
    random_layer,
    read_blob,
    read_dir_layout,
    read_oci_layout,
    tar_layer,
    write_dir_layout,
    write_oci_layout,
)
from tests.support.skopeo import SKIP_REASON, SKOPEO, inspect_raw, run_skopeo

requires_skopeo = pytest.mark.skipif(SKOPEO is None, reason=SKIP_REASON)

FILES = {"etc/hello.txt": b"hello\n", "usr/bin/tool": b"#!/bin/sh\n", "etc/gone.conf": None}


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _members(layer: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as tar:
        return tar.getmembers()


def test_tar_layer_is_deterministic_and_independent_of_dict_order():
    reordered = dict(reversed(list(FILES.items())))
    assert tar_layer(FILES) == tar_layer(reordered) == tar_layer(dict(FILES))


def test_tar_layer_entries_are_sorted_with_fixed_metadata():
    members = _members(tar_layer(FILES))
    assert [m.name for m in members] == ["etc", "etc/.wh.gone.conf", "etc/hello.txt", "usr", "usr/bin", "usr/bin/tool"]
    for m in members:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "")
        assert m.mode == (0o755 if m.isdir() else 0o644)


def test_tar_layer_gzip_header_has_no_mtime_or_name():
    layer = tar_layer(FILES)
    assert layer[:4] == b"\x1f\x8b\x08\x00"  # magic, deflate, no FNAME flag
    assert layer[4:8] == b"\0\0\0\0"  # MTIME


def test_whiteouts_and_opaque_directories():
    layer = tar_layer({"var/lib/.wh..wh..opq": b"", "var/cache/old": None, "top": None, "empty/": None})
    names = {m.name: m for m in _members(layer)}
    assert set(names) == {"var", "var/lib", "var/lib/.wh..wh..opq", "var/cache", "var/cache/.wh.old", ".wh.top", "empty"}
    assert names["var/cache/.wh.old"].isfile() and names["var/cache/.wh.old"].size == 0
    assert names["empty"].isdir()


def test_tar_layer_rejects_escaping_paths():
    with pytest.raises(ValueError):
        tar_layer({"../etc/passwd": b"x"})


def test_gzip_level_changes_bytes_not_content():
    a, b = tar_layer(FILES, gzip_level=1), tar_layer(FILES, gzip_level=9)
    assert gzip.decompress(a) == gzip.decompress(b)


def test_random_layer_size_seed_and_content():
    one = random_layer(200_000, seed=1)
    assert one == random_layer(200_000, seed=1)
    assert one != random_layer(200_000, seed=2)
    assert abs(len(one) - 200_000) < 4096
    [member] = _members(one)
    with tarfile.open(fileobj=io.BytesIO(one), mode="r:gz") as tar:
        data = tar.extractfile(member).read()
    assert data == random.Random(1).randbytes(member.size)


def test_random_layer_content_spans_read_chunks():
    layer = random_layer(3 << 20, seed=4)
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as tar:
        [member] = tar.getmembers()
        data = tar.extractfile(member).read()
    assert member.size > 2 << 20
    assert data == random.Random(4).randbytes(member.size)


def test_diff_id_of_compressed_and_plain_layers():
    layer = tar_layer(FILES)
    assert diff_id(layer) == _sha(gzip.decompress(layer))
    assert diff_id(b"not gzip") == _sha(b"not gzip")


def test_random_layer_is_fast_for_large_sizes():
    start = time.monotonic()
    layer = random_layer(64 << 20, seed=7)
    image = build_image([layer])
    assert time.monotonic() - start < 5
    assert abs(len(layer) - (64 << 20)) < 4096
    assert image.layers[0].data is layer  # no copies of the layer bytes


def test_build_image_digests_and_config():
    layers = [tar_layer({"a": b"1"}), tar_layer({"b": b"2"}), random_layer(10_000)]
    image = build_image(layers, arch="arm64")
    assert image.manifest.media_type == OCI.manifest
    assert image.digest == _sha(image.manifest.data)
    for blob in image.all_blobs():
        assert blob.digest == _sha(blob.data) and blob.size == len(blob.data)
    manifest = json.loads(image.manifest.data)
    assert list(manifest) == ["schemaVersion", "mediaType", "config", "layers"]
    assert manifest["config"] == {"mediaType": OCI.config, "digest": image.config.digest, "size": image.config.size}
    assert [d["digest"] for d in manifest["layers"]] == [_sha(layer) for layer in layers]
    config = json.loads(image.config.data)
    assert (config["os"], config["architecture"]) == ("linux", "arm64") == image.platform
    assert config["rootfs"] == {"type": "layers", "diff_ids": [_sha(gzip.decompress(layer)) for layer in layers]}
    assert len(config["history"]) == 3


def test_build_image_is_deterministic():
    def build():
        return build_image([tar_layer(FILES), random_layer(5000, seed=3)], annotations={"k": "v"})

    a, b = build(), build()
    assert a == b
    assert [x.data for x in a.all_blobs()] == [x.data for x in b.all_blobs()]


def test_docker_media_types():
    image = build_image([tar_layer(FILES)], media="docker")
    manifest = json.loads(image.manifest.data)
    assert manifest["mediaType"] == image.media_type == DOCKER.manifest
    assert manifest["config"]["mediaType"] == DOCKER.config
    assert manifest["layers"][0]["mediaType"] == DOCKER.layer
    with pytest.raises(ValueError):
        build_image([], media="docker", annotations={"a": "b"})


def test_artifact_with_subject_and_empty_config():
    image = build_image([tar_layer(FILES)])
    sbom = build_image(
        [b'{"spdxVersion": "SPDX-2.3"}'],
        artifact_type="application/spdx+json",
        layer_media_type="application/spdx+json",
        subject=image,
        annotations={"org.opencontainers.image.created": "1970-01-01T00:00:00Z"},
    )
    manifest = sbom.manifest.json()
    assert list(manifest) == ["schemaVersion", "mediaType", "artifactType", "config", "layers", "subject", "annotations"]
    assert manifest["config"] == {
        "mediaType": EMPTY_JSON_MEDIA_TYPE,
        "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size": 2,
    }
    assert manifest["subject"] == {"mediaType": OCI.manifest, "digest": image.digest, "size": image.manifest.size}
    assert manifest["layers"][0]["mediaType"] == "application/spdx+json"


def test_custom_config_and_layer_annotations():
    chart = build_image(
        [b"chart-bytes"],
        config_media_type="application/vnd.cncf.helm.config.v1+json",
        config_data=b'{"name":"demo","version":"0.1.0"}',
        layer_media_type="application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        layer_annotations=[{"org.opencontainers.image.title": "demo-0.1.0.tgz"}],
    )
    manifest = chart.manifest.json()
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
    assert chart.config.data == b'{"name":"demo","version":"0.1.0"}'
    assert manifest["layers"][0]["annotations"] == {"org.opencontainers.image.title": "demo-0.1.0.tgz"}


def test_build_index_carries_platforms():
    images = [build_image([tar_layer({"arch": a.encode()})], arch=a) for a in ("amd64", "arm64")]
    index = build_index(images)
    doc = index.manifest.json()
    assert doc["mediaType"] == OCI.index == index.media_type
    assert [d["platform"] for d in doc["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    assert [d["digest"] for d in doc["manifests"]] == [i.digest for i in images]
    docker = build_index([build_image([], media="docker")], media="docker")
    assert docker.media_type == DOCKER.index


def test_blob_repr_does_not_dump_data():
    blob = Blob.of("application/octet-stream", b"x" * 100_000)
    assert len(repr(blob)) < 300


def test_oci_layout_round_trip(tmp_path):
    image = build_image([tar_layer(FILES)])
    index = build_index([image, build_image([tar_layer({"x": b"y"})], arch="arm64")])
    write_oci_layout(tmp_path, {"img": image})
    write_oci_layout(tmp_path, {"idx": index})  # adds to the existing layout
    assert json.loads((tmp_path / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    assert read_oci_layout(tmp_path, "img") == image.digest
    assert read_oci_layout(tmp_path, "idx") == index.digest
    for blob in index.all_blobs() + image.all_blobs():
        assert read_blob(tmp_path, blob.digest) == blob.data
    with pytest.raises(KeyError):
        read_oci_layout(tmp_path, "missing")


@requires_skopeo
def test_skopeo_reads_oci_layout(tmp_path):
    image = build_image([tar_layer(FILES), random_layer(1000)])
    index = build_index([image, build_image([tar_layer({"x": b"y"})], arch="arm64")])
    write_oci_layout(tmp_path, {"img": image, "idx": index})
    assert inspect_raw(f"oci:{tmp_path}:img") == image.manifest.data
    assert inspect_raw(f"oci:{tmp_path}:idx") == index.manifest.data


@requires_skopeo
def test_skopeo_reads_dir_layout_with_docker_types(tmp_path):
    image = build_image([tar_layer(FILES)], media="docker")
    write_dir_layout(tmp_path, image)
    assert read_dir_layout(tmp_path) == image.digest
    assert inspect_raw(f"dir:{tmp_path}") == image.manifest.data
    config = run_skopeo("inspect", "--config", "--raw", f"dir:{tmp_path}").stdout
    assert config.encode() == image.config.data
