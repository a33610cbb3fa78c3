"""`moorage serve` keeps its data across a restart (stop with Ctrl-C, start again)."""
from __future__ import annotations

import requests

from tests.support.images import build_image, random_layer, tar_layer
from tests.support.servers import start_registry, stop_registry
from tests.support.v2 import MANIFEST_ACCEPT, V2Client


def test_images_survive_a_restart(tmp_path):
    image = build_image([tar_layer({"etc/motd": b"hello"}), random_layer(6 * 1024 * 1024, seed=3)])
    first = start_registry("moorage", tmp_path)
    try:
        V2Client(first.url).push("library/keep", image, "1")
    finally:
        stop_registry(first)

    second = start_registry("moorage", tmp_path)
    try:
        manifest = requests.get(f"{second.url}/v2/library/keep/manifests/1",
                                headers={"Accept": MANIFEST_ACCEPT}, timeout=30)
        assert manifest.status_code == 200, second.log_tail()
        assert manifest.content == image.manifest.data
        for blob in image.blobs():
            pulled = requests.get(f"{second.url}/v2/library/keep/blobs/{blob.digest}", timeout=60)
            assert pulled.status_code == 200
            assert pulled.content == blob.data
        tags = requests.get(f"{second.url}/v2/library/keep/tags/list", timeout=30).json()
        assert tags["tags"] == ["1"]
    finally:
        stop_registry(second)
