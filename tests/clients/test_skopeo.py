"""skopeo pushes, pulls, copies, lists and deletes against the registry under test.

Images come from tests/support/images.py, so every digest is known in advance;
each test uses its own repositories under the default tenant registry `library`.
"""

import gzip
import json
from pathlib import Path

import pytest
import requests

from tests.support.auth import authed_session
from tests.support.images import (
    Image,
    Index,
    build_image,
    build_index,
    random_layer,
    read_blob,
    read_dir_layout,
    read_oci_layout,
    tar_layer,
    write_dir_layout,
    write_oci_layout,
)
from tests.support.servers import RunningRegistry
from tests.support.skopeo import SKIP_REASON, SKOPEO, SkopeoError, inspect_raw, run_skopeo

pytestmark = pytest.mark.skipif(SKOPEO is None, reason=SKIP_REASON)


def docker_ref(registry: RunningRegistry, name: str) -> str:
    return f"docker://{registry.host}/{name}"


def three_layer_image(seed: int) -> Image:
    return build_image(
        [
            tar_layer({"etc/os-release": b"ID=moorage\n", f"etc/seed-{seed}": b"%d\n" % seed}),
            random_layer(256 * 1024, seed=seed),
            tar_layer({"etc/seed-{seed}": None, "var/cache/.wh..wh..opq": b"", "app/run.sh": b"#!/bin/sh\n"}),
        ],
        annotations={"org.opencontainers.image.title": f"three-layer-{seed}"},
    )


def assert_oci_layout_holds(directory: Path, ref: str, item: Image | Index) -> None:
    assert read_oci_layout(directory, ref) == item.digest
    for blob in item.all_blobs():
        assert read_blob(directory, blob.digest) == blob.data, f"{blob.media_type} {blob.digest} differs"


def test_oci_image_round_trip(registry, tmp_path):
    image = three_layer_image(seed=1)
    write_oci_layout(tmp_path / "src", {"1": image})
    remote = docker_ref(registry, "library/hello:1")

    run_skopeo("copy", f"oci:{tmp_path / 'src'}:1", remote)
    assert inspect_raw(remote) == image.manifest.data
    run_skopeo("copy", remote, f"oci:{tmp_path / 'back'}:1")
    assert_oci_layout_holds(tmp_path / "back", "1", image)

    inspected = json.loads(run_skopeo("inspect", remote).stdout)
    assert inspected["Digest"] == image.digest
    assert inspected["Layers"] == [layer.digest for layer in image.layers]
    assert (inspected["Os"], inspected["Architecture"]) == image.platform


def test_oci_image_round_trip_preserving_digests(registry, tmp_path):
    image = three_layer_image(seed=2)
    write_oci_layout(tmp_path / "src", {"v2": image})
    remote = docker_ref(registry, "library/hello:2")

    run_skopeo("copy", "--preserve-digests", f"oci:{tmp_path / 'src'}:v2", remote)
    assert inspect_raw(remote) == image.manifest.data
    assert inspect_raw(f"{remote.rsplit(':', 1)[0]}@{image.digest}") == image.manifest.data
    run_skopeo("copy", "--preserve-digests", remote, f"oci:{tmp_path / 'back'}:v2")
    assert_oci_layout_holds(tmp_path / "back", "v2", image)


def test_docker_schema2_round_trip(registry, tmp_path):
    image = build_image([tar_layer({"bin/app": b"\x7fELF"}), random_layer(64 * 1024, seed=3)], media="docker")
    write_dir_layout(tmp_path / "src", image)
    remote = docker_ref(registry, "library/dockerv2:1")

    run_skopeo("copy", "--preserve-digests", f"dir:{tmp_path / 'src'}", remote)
    assert inspect_raw(remote) == image.manifest.data
    response = authed_session(registry).get(
        f"{registry.url}/v2/library/dockerv2/manifests/1",
        headers={"Accept": image.media_type},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert response.headers["Docker-Content-Digest"] == image.digest

    run_skopeo("copy", "--preserve-digests", remote, f"dir:{tmp_path / 'back'}")
    assert read_dir_layout(tmp_path / "back") == image.digest
    for blob in image.blobs():
        assert (tmp_path / "back" / blob.hex).read_bytes() == blob.data


def test_multi_platform_index_all(registry, tmp_path):
    images = [
        build_image([tar_layer({"etc/arch": arch.encode()}), random_layer(32 * 1024, seed=40 + i)], arch=arch)
        for i, arch in enumerate(["amd64", "arm64"])
    ]
    index = build_index(images, annotations={"org.opencontainers.image.version": "1"})
    write_oci_layout(tmp_path / "src", {"1": index})
    remote = docker_ref(registry, "library/multi:1")

    run_skopeo("copy", "--all", "--preserve-digests", f"oci:{tmp_path / 'src'}:1", remote)
    assert inspect_raw(remote) == index.manifest.data
    for image in images:
        assert inspect_raw(docker_ref(registry, f"library/multi@{image.digest}")) == image.manifest.data
    arm = json.loads(run_skopeo("inspect", "--override-arch", "arm64", "--override-os", "linux", remote).stdout)
    assert arm["Digest"] == index.digest  # skopeo reports the index digest, details of the chosen image
    assert (arm["Architecture"], arm["Layers"]) == ("arm64", [layer.digest for layer in images[1].layers])

    run_skopeo("copy", "--all", "--preserve-digests", remote, f"oci:{tmp_path / 'back'}:1")
    assert_oci_layout_holds(tmp_path / "back", "1", index)


def test_nested_repository_name(registry, tmp_path):
    image = build_image([tar_layer({"srv/index.html": b"<h1>web</h1>\n"})])
    write_oci_layout(tmp_path / "src", {"web": image})
    remote = docker_ref(registry, "library/team/app/web:1.0")

    run_skopeo("copy", f"oci:{tmp_path / 'src'}:web", remote)
    assert inspect_raw(remote) == image.manifest.data
    tags = json.loads(run_skopeo("list-tags", docker_ref(registry, "library/team/app/web")).stdout)
    assert tags["Tags"] == ["1.0"]
    run_skopeo("copy", remote, f"oci:{tmp_path / 'back'}:web")
    assert_oci_layout_holds(tmp_path / "back", "web", image)


def test_cross_repository_copy_mounts_layers(registry, tmp_path):
    image = three_layer_image(seed=5)
    write_oci_layout(tmp_path / "src", {"1": image})
    source, target = docker_ref(registry, "library/src:1"), docker_ref(registry, "library/dst:1")
    run_skopeo("copy", f"oci:{tmp_path / 'src'}:1", source)

    copied = run_skopeo("copy", "--preserve-digests", source, target, debug=True)

    assert inspect_raw(target) == image.manifest.data
    log = copied.stderr
    for layer in image.layers:
        hex_ = layer.hex
        assert f"mount=sha256%3A{hex_}" in log, f"no mount attempt for {layer.digest}"
        assert f"Skipping blob {layer.digest} (already present)" in log, f"{layer.digest} not reused"
        assert f"Upload of layer {layer.digest} complete" not in log, f"{layer.digest} was uploaded again"
    assert log.count("... mount OK") >= len(image.layers)
    run_skopeo("copy", target, f"oci:{tmp_path / 'back'}:1")
    assert_oci_layout_holds(tmp_path / "back", "1", image)


def test_list_tags(registry, tmp_path):
    image = build_image([tar_layer({"tags": b"yes"})])
    write_oci_layout(tmp_path / "src", {"x": image})
    pushed = ["v1.0.0", "latest", "1", "2.0-rc_1", "A-Upper", "zeta"]
    for tag in pushed:
        run_skopeo("copy", f"oci:{tmp_path / 'src'}:x", docker_ref(registry, f"library/tags:{tag}"))

    listed = json.loads(run_skopeo("list-tags", docker_ref(registry, "library/tags")).stdout)
    assert listed["Repository"] == f"{registry.host}/library/tags"
    assert sorted(listed["Tags"]) == sorted(pushed)
    if registry.target != "distribution":  # 2.8 lists tags in storage order, before the spec required one
        # distribution-spec: "lexical (i.e. case-insensitive alphanumeric order) or ASCIIbetical"
        assert listed["Tags"] in (sorted(pushed), sorted(pushed, key=str.lower))


def test_delete_then_inspect_fails(registry, tmp_path):
    image = build_image([tar_layer({"gone": b"soon"})])
    write_oci_layout(tmp_path / "src", {"1": image})
    remote = docker_ref(registry, "library/del:1")
    run_skopeo("copy", f"oci:{tmp_path / 'src'}:1", remote)
    assert inspect_raw(remote) == image.manifest.data

    run_skopeo("delete", remote)

    for ref in (remote, docker_ref(registry, f"library/del@{image.digest}")):
        with pytest.raises(SkopeoError) as failure:
            run_skopeo("inspect", "--raw", ref)
        assert "manifest unknown" in failure.value.stderr.lower()


def test_push_compressing_on_the_fly_streams_a_chunked_patch(registry, tmp_path):
    """An uncompressed layer makes skopeo gzip it while uploading: the PATCH body
    has no Content-Length (Transfer-Encoding: chunked), as with `docker push`."""
    raw_tar = gzip.decompress(random_layer(2 << 20, seed=6))
    image = build_image([raw_tar], layer_media_type="application/vnd.oci.image.layer.v1.tar")
    write_oci_layout(tmp_path / "src", {"1": image})
    remote = docker_ref(registry, "library/chunked:1")

    pushed = run_skopeo("copy", f"oci:{tmp_path / 'src'}:1", remote, debug=True)
    assert "Compressing blob on the fly" in pushed.stderr

    manifest = json.loads(inspect_raw(remote))
    [layer] = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    blob = authed_session(registry).get(f"{registry.url}/v2/library/chunked/blobs/{layer['digest']}", timeout=60)
    assert blob.status_code == 200
    assert len(blob.content) == layer["size"]
    assert gzip.decompress(blob.content) == raw_tar
