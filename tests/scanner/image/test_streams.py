"""Layer streams: compression by magic bytes, digest checked, bombs and damage refused."""

from __future__ import annotations

import gzip
import io
import os

import pytest

from chalicelib.scanner import Limits, ScanFailed, inventory_image
from tests.scanner.builders import plain_tar, source, zstd_layer
from tests.support.images import OCI, sha256_digest, tar_layer

FILES = {"etc/os-release": b'ID=alpine\nVERSION_ID=3.19.1\n', "lib/apk/db/installed": b"P:musl\nV:1.2.4-r2\no:musl\n\n"}


@pytest.mark.parametrize("make, media_type", [
    (tar_layer, OCI.layer),
    (zstd_layer, "application/vnd.oci.image.layer.v1.tar+zstd"),
    (plain_tar, "application/vnd.oci.image.layer.v1.tar"),
    # Media types lie: the magic bytes decide.
    (zstd_layer, OCI.layer),
])
def test_every_compression_is_read(make, media_type):
    inventory = inventory_image([source(make(FILES), media_type)])
    assert inventory.os.id == "alpine"
    assert [(p.name, p.version) for p in inventory.packages] == [("musl", "1.2.4-r2")]


def test_several_gzip_members_are_one_stream():
    tar = plain_tar(FILES)
    data = gzip.compress(tar[:1000]) + gzip.compress(tar[1000:])
    assert inventory_image([source(data)]).packages[0].name == "musl"


def test_wrong_digest_fails_after_reading_everything():
    data = tar_layer(FILES)
    with pytest.raises(ScanFailed, match="does not match its digest"):
        inventory_image([source(data, digest=sha256_digest(b"other"))])


def test_unsupported_digest_algorithm():
    with pytest.raises(ScanFailed, match="unsupported digest"):
        inventory_image([source(tar_layer(FILES), digest="md5:abc")])


@pytest.mark.parametrize("damage, reason", [
    (lambda d: d[:10] + bytes(b ^ 0xFF for b in d[10:60]) + d[60:], "corrupt"),
    (lambda d: d[: len(d) // 2], "truncated"),
    (lambda d: d + b"trailing junk", "data after the end of the gzip stream"),
])
def test_damaged_gzip(damage, reason):
    data = damage(tar_layer({"big.bin": os.urandom(200_000), **FILES}))
    with pytest.raises(ScanFailed, match=reason):
        inventory_image([source(data)])


def test_damaged_zstd():
    data = zstd_layer({"big.bin": os.urandom(200_000), **FILES})
    broken = data[:40] + bytes(b ^ 0x55 for b in data[40:400]) + data[400:]
    with pytest.raises(ScanFailed, match="layer sha256:[0-9a-f]{12}: (corrupt|truncated|not a readable tar)"):
        inventory_image([source(broken)])


def test_truncated_zstd_is_a_truncated_tar():
    data = zstd_layer({"big.bin": os.urandom(300_000), **FILES})
    with pytest.raises(ScanFailed, match="corrupt tar|truncated"):
        inventory_image([source(data[: len(data) // 2])])


def test_empty_layer_blob():
    with pytest.raises(ScanFailed, match="empty layer"):
        inventory_image([source(b"")])


def test_not_a_tar():
    with pytest.raises(ScanFailed, match="not a readable tar|corrupt tar"):
        inventory_image([source(gzip.compress(b"hello, this is not a tar archive" * 40))])


def test_non_layer_media_type_is_refused():
    with pytest.raises(ScanFailed, match="not a filesystem layer"):
        inventory_image([source(tar_layer(FILES), "application/json")])


def test_total_uncompressed_bytes_are_bounded():
    data = tar_layer({"zeros.bin": bytes(3 * 1024 * 1024)})
    limits = Limits(max_image_bytes=2 * 1024 * 1024)
    with pytest.raises(ScanFailed, match="more than 2097152 bytes uncompressed"):
        inventory_image([source(data)], limits=limits)


def test_the_budget_is_for_the_whole_image():
    layers = [source(tar_layer({f"f{i}.bin": bytes(800_000)})) for i in range(3)]
    with pytest.raises(ScanFailed, match="uncompressed"):
        inventory_image(layers, limits=Limits(max_image_bytes=2_000_000))


def test_compression_ratio_is_bounded():
    # 20 MB of zeros gzip to ~20 kB: a thousandfold.
    data = tar_layer({"zeros.bin": bytes(20 * 1024 * 1024)}, gzip_level=9)
    limits = Limits(max_ratio=100, ratio_floor_bytes=1024 * 1024)
    with pytest.raises(ScanFailed, match="expands more than 100 times"):
        inventory_image([source(data)], limits=limits)
    # Below the floor a high ratio is fine (small layers of zeros exist).
    assert inventory_image([source(data)], limits=Limits(max_ratio=100)).layers


def test_storage_errors_propagate_unchanged():
    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise ConnectionResetError("S3 went away")

    layer = source(tar_layer(FILES))
    broken = type(layer)(layer.digest, layer.media_type, Broken)
    with pytest.raises(ConnectionResetError):
        inventory_image([broken])


def test_damaged_zstd_frame():
    data = zstd_layer(FILES)
    with pytest.raises(ScanFailed, match="corrupt zstd stream"):
        inventory_image([source(data[:4] + b"\xff" * 8 + data[12:])])
