"""Damaged layers, whatever the damage: the scan returns or raises ScanFailed, and
nothing else escapes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.scanner import Limits, ScanFailed, inventory_image
from tests.scanner.builders import jar, plain_tar, pom_properties, source
from tests.support.images import sha256_digest, tar_layer

FILES = {
    "etc/os-release": b"ID=debian\nVERSION_ID=12\n",
    "var/lib/dpkg/status": b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nSource: glibc\n",
    "srv/node_modules/a/package.json": json.dumps({"name": "a", "version": "1.0.0"}).encode(),
    "srv/lib/app.jar": jar(dict([pom_properties("g", "a", "1"), ("x.class", b"x" * 3000)]), descriptors=True),
    "srv/.env": b"API_KEY=q8Zr2LxWv9Tn4Kp\n",
}
GZIP = tar_layer(FILES)
PLAIN = plain_tar(FILES)
LIMITS = Limits(max_image_bytes=8 * 1024 * 1024, ratio_floor_bytes=1024 * 1024)


def _scan(data: bytes) -> None:
    # The digest is of the damaged bytes: the damage must be caught by reading them.
    try:
        inventory_image([source(data, digest=sha256_digest(data))], limits=LIMITS)
    except ScanFailed:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_plain_tar(data):
    layer = bytearray(PLAIN)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(layer) - 1))
        layer[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(layer)))
    _scan(bytes(layer[:cut]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_gzip(data):
    layer = bytearray(GZIP)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(10, len(layer) - 1))
        layer[at] ^= data.draw(st.integers(1, 255))
    _scan(bytes(layer))
