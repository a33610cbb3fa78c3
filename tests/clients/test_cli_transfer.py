"""`moorage push` / `moorage pull` run as a user runs them: a subprocess against the registry
under test, blob bytes going straight to and from storage through pre-signed URLs.

Multipart direct uploads only start above 5 GB (chalicelib.registry.uploads.DIRECT_SINGLE_MAX,
which a test cannot lower inside the server process), so the part splitting and the part
PUTs are tested in-process against a stub storage server instead.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from chalicelib.cli.api import CliError
from chalicelib.cli.layout import Descriptor, Layout, split_layout
from chalicelib.cli.progress import Progress
from chalicelib.cli.reference import Reference
from chalicelib.cli.transfer import ACCEPT, _Pusher, part_ranges
from chalicelib.cli.transport import Transport
from tests.support.auth import authed_session
from tests.support.images import (
    Image,
    Index,
    build_image,
    build_index,
    random_layer,
    read_blob,
    read_oci_layout,
    tar_layer,
    write_oci_layout,
)
from tests.support.servers import REPO_ROOT, RunningRegistry, free_port
from tests.support.skopeo import SKIP_REASON, SKOPEO, run_skopeo

pytestmark = pytest.mark.skipif(
    os.environ.get("MOORAGE_TEST_TARGET", "moorage") != "moorage",
    reason="the direct-upload extension is moorage's own")


def moorage(registry: RunningRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MOORAGE_USERNAME": registry.username or "", "MOORAGE_PASSWORD": registry.password or ""}
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", "--url", registry.url, *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env)


def three_layer_image(seed: int, arch: str = "amd64") -> Image:
    return build_image(
        [
            tar_layer({"etc/os-release": b"ID=moorage\n", f"etc/seed-{seed}": b"%d\n" % seed}),
            random_layer(384 * 1024, seed=seed),
            random_layer(64 * 1024, seed=seed + 1000),
        ],
        arch=arch,
        annotations={"org.opencontainers.image.title": f"cli-transfer-{seed}"},
    )


def assert_layout_holds(directory: Path, ref: str, item: Image | Index) -> None:
    assert read_oci_layout(directory, ref) == item.digest
    for blob in item.all_blobs():
        assert read_blob(directory, blob.digest) == blob.data, f"{blob.media_type} {blob.digest} differs"
    assert json.loads((directory / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert not list(directory.glob("blobs/sha256/.*")), "temporary files left behind"


def summary(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip().splitlines()[-1]


# ---------------------------------------------------------------- against the registry


def test_push_then_pull_round_trip(registry, tmp_path):
    image = three_layer_image(seed=101)
    write_oci_layout(tmp_path / "src", {"v1": image})

    pushed = moorage(registry, "push", str(tmp_path / "src"), "library/cli-round-trip:1")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == f"library/cli-round-trip@{image.digest}"
    assert "4 blobs, 4 uploaded, 0 skipped" in summary(pushed)
    # not a terminal: one line per finished blob, then the summary
    lines = pushed.stderr.strip().splitlines()
    assert len(lines) == 5 and all(" pushed " in line for line in lines[:4])

    manifest = authed_session(registry).get(f"{registry.url}/v2/library/cli-round-trip/manifests/1", headers={"Accept": ACCEPT})
    assert manifest.status_code == 200 and manifest.content == image.manifest.data
    assert manifest.headers["Content-Type"] == image.media_type

    pulled = moorage(registry, "pull", "library/cli-round-trip:1", str(tmp_path / "back"))
    assert pulled.returncode == 0, pulled.stderr
    assert "4 blobs, 4 downloaded, 0 skipped" in summary(pulled)
    assert_layout_holds(tmp_path / "back", "1", image)

    # by digest, into the same layout under another ref: every blob is already there
    again = moorage(registry, "pull", f"library/cli-round-trip@{image.digest}", f"{tmp_path / 'back'}:pinned")
    assert again.returncode == 0, again.stderr
    assert "4 blobs, 0 downloaded, 4 skipped" in summary(again)
    assert_layout_holds(tmp_path / "back", "pinned", image)
    assert read_oci_layout(tmp_path / "back", "1") == image.digest


def test_push_multi_platform_index(registry, tmp_path):
    amd64, arm64 = three_layer_image(seed=201), three_layer_image(seed=202, arch="arm64")
    index = build_index([amd64, arm64])
    write_oci_layout(tmp_path / "src", {"multi": index, "other": amd64})

    ambiguous = moorage(registry, "push", str(tmp_path / "src"), "library/cli-index:1")
    assert ambiguous.returncode == 1
    assert "refs: multi, other" in ambiguous.stderr

    pushed = moorage(registry, "push", f"{tmp_path / 'src'}:multi", "library/cli-index:1")
    assert pushed.returncode == 0, pushed.stderr
    assert "8 blobs, 8 uploaded, 0 skipped" in summary(pushed)
    for child in (amd64, arm64):
        got = authed_session(registry).get(f"{registry.url}/v2/library/cli-index/manifests/{child.digest}",
                           headers={"Accept": ACCEPT})
        assert got.content == child.manifest.data

    pulled = moorage(registry, "pull", "library/cli-index:1", str(tmp_path / "back"))
    assert pulled.returncode == 0, pulled.stderr
    assert_layout_holds(tmp_path / "back", "1", index)


def test_second_push_skips_all_blobs(registry, tmp_path):
    image = three_layer_image(seed=301)
    write_oci_layout(tmp_path / "src", {"1": image})
    first = moorage(registry, "push", str(tmp_path / "src"), "library/cli-twice:1")
    assert first.returncode == 0, first.stderr
    assert "4 blobs, 4 uploaded, 0 skipped" in summary(first)

    second = moorage(registry, "push", str(tmp_path / "src"), "library/cli-twice:2")
    assert second.returncode == 0, second.stderr
    assert "4 blobs, 0 uploaded, 4 skipped, 0 B in" in summary(second)

    # another repository: a digest alone proves no right to the bytes, so they are sent
    # again (the registry keeps one copy when the upload commits)
    third = moorage(registry, "push", str(tmp_path / "src"), "library/cli-twice-copy:1")
    assert third.returncode == 0, third.stderr
    assert "4 blobs, 4 uploaded, 0 skipped" in summary(third)


def test_push_to_registry_that_does_not_exist(registry, tmp_path):
    write_oci_layout(tmp_path / "src", {"1": three_layer_image(seed=401)})
    result = moorage(registry, "push", str(tmp_path / "src"), "nosuch/app:1")
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_push_to_a_url_nothing_listens_on(tmp_path):
    write_oci_layout(tmp_path / "src", {"1": three_layer_image(seed=451)})
    nobody = RunningRegistry("external", f"127.0.0.1:{free_port()}")
    result = moorage(nobody, "push", str(tmp_path / "src"), "library/app:1")
    assert result.returncode == 1
    assert f"cannot reach {nobody.url}" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_layout_is_refused_and_pull_fails_cleanly(registry, tmp_path):
    image = three_layer_image(seed=501)
    write_oci_layout(tmp_path / "src", {"1": image})
    layer = tmp_path / "src" / "blobs" / "sha256" / image.layers[1].hex
    data = bytearray(layer.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    layer.write_bytes(bytes(data))

    pushed = moorage(registry, "push", str(tmp_path / "src"), "library/cli-corrupt:1", "--jobs", "1")
    assert pushed.returncode == 1
    assert "DIGEST_INVALID" in pushed.stderr and image.layers[1].digest in pushed.stderr
    assert "the layout is corrupt" in pushed.stderr
    assert "Traceback" not in pushed.stderr
    head = authed_session(registry).head(f"{registry.url}/v2/library/cli-corrupt/blobs/{image.layers[1].digest}")
    assert head.status_code == 404

    pulled = moorage(registry, "pull", "library/cli-corrupt:1", str(tmp_path / "back"))
    assert pulled.returncode == 1
    assert "MANIFEST_UNKNOWN" in pulled.stderr and "Traceback" not in pulled.stderr
    assert not (tmp_path / "back" / "index.json").exists()


def test_pull_of_unknown_tag_and_bad_reference(registry, tmp_path):
    missing = moorage(registry, "pull", "library/cli-nothing:1", str(tmp_path / "back"))
    assert missing.returncode == 1 and "library/cli-nothing:1" in missing.stderr
    bad = moorage(registry, "pull", "library/x@sha256:../../etc", str(tmp_path / "back"))
    assert bad.returncode == 1 and "malformed digest" in bad.stderr


@pytest.mark.skipif(SKOPEO is None, reason=SKIP_REASON)
def test_skopeo_pulls_what_moorage_pushed(registry, tmp_path):
    image = three_layer_image(seed=601)
    write_oci_layout(tmp_path / "src", {"1": image})
    pushed = moorage(registry, "push", str(tmp_path / "src"), "library/cli-skopeo:1")
    assert pushed.returncode == 0, pushed.stderr

    run_skopeo("copy", "--preserve-digests", f"docker://{registry.host}/library/cli-skopeo:1",
               f"oci:{tmp_path / 'back'}:1")
    assert read_oci_layout(tmp_path / "back", "1") == image.digest
    for blob in image.all_blobs():
        assert read_blob(tmp_path / "back", blob.digest) == blob.data


# ---------------------------------------------------------------- in-process pieces


def test_part_ranges():
    assert part_ranges(10, 4, 3) == [(1, 0, 4), (2, 4, 4), (3, 8, 2)]
    assert part_ranges(8, 4, 2) == [(1, 0, 4), (2, 4, 4)]
    assert part_ranges(0, 4, 1) == [(1, 0, 0)]
    size, part = 6 * 1000 ** 3, 64 * 1024 * 1024
    ranges = part_ranges(size, part, -(-size // part))
    assert sum(length for _, _, length in ranges) == size
    assert all(offset == (n - 1) * part for n, offset, _ in ranges)
    with pytest.raises(CliError, match="3 part URLs"):
        part_ranges(10, 5, 3)
    with pytest.raises(CliError):
        part_ranges(10, 0, 1)


def test_references_and_layout_arguments(tmp_path):
    assert Reference.parse("library/hello:1") == Reference("library/hello", "1", None)
    assert Reference.parse("library/hello") == Reference("library/hello", "latest", None)
    digest = "sha256:" + "a" * 64
    assert Reference.parse(f"library/hello@{digest}") == Reference("library/hello", None, digest)
    assert Reference.parse(f"team/app/web:2@{digest}").target == digest
    for bad in ("", ":1", "library/hello:", "library/hello@sha256:abc", "library/hello@md5:" + "a" * 32):
        with pytest.raises(CliError):
            Reference.parse(bad)
    assert split_layout(tmp_path / "lay") == (tmp_path / "lay", None)
    assert split_layout(f"{tmp_path}/lay:v1") == (tmp_path / "lay", "v1")
    odd = tmp_path / "with:colon"
    odd.mkdir()
    assert split_layout(odd) == (odd, None)


def test_layout_refuses_a_manifest_that_does_not_match_its_digest(tmp_path):
    image = three_layer_image(seed=701)
    write_oci_layout(tmp_path / "src", {"1": image})
    (tmp_path / "src" / "blobs" / "sha256" / image.manifest.hex).write_bytes(image.manifest.data + b" ")
    layout = Layout(tmp_path / "src")
    with pytest.raises(CliError, match="corrupt layout"):
        layout.read_manifest(layout.select("1"))
    with pytest.raises(CliError, match=r"no ref 'nope' .*refs: 1"):
        layout.select("nope")


class _StubStorage(BaseHTTPRequestHandler):
    """Records part PUTs as pre-signed S3 part URLs would receive them."""

    received: dict[int, bytes] = {}

    def do_PUT(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        body = b""
        while len(body) < length:
            body += self.rfile.read(length - len(body))
        number = int(self.path.rsplit("partNumber=", 1)[1])
        type(self).received[number] = body
        self.send_response(200)
        self.send_header("ETag", f'"{hashlib.md5(body).hexdigest()}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_multipart_parts_are_cut_streamed_and_hashed(tmp_path):
    data = random_layer(1_000_000, seed=801)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = tmp_path / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    part_size = 300_000
    _StubStorage.received = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubStorage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/bucket/key?uploadId=u"
        target = {"url": None, "headers": {}, "part_size": part_size,
                  "parts": [f"{base}&partNumber={n}" for n in range(1, 5)]}
        stream = io.StringIO()
        pusher = _Pusher(Transport("http://127.0.0.1:9", 2), Layout(tmp_path), "library/x", Progress(stream))
        hasher = hashlib.sha256()
        pusher._put_to_storage("unused", target, path, Descriptor("x", digest, len(data)), hasher)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(_StubStorage.received) == [1, 2, 3, 4]
    assert [len(_StubStorage.received[n]) for n in range(1, 5)] == [part_size] * 3 + [len(data) - 3 * part_size]
    assert b"".join(_StubStorage.received[n] for n in range(1, 5)) == data
    assert "sha256:" + hasher.hexdigest() == digest
