"""`moorage serve` keeps its data across a restart (stop with Ctrl-C, start again)."""
from __future__ import annotations

import requests

from tests.support.auth import authed_session
from tests.support.images import build_image, random_layer, tar_layer
from tests.support.servers import start_registry, stop_registry
from tests.support.v2 import MANIFEST_ACCEPT, V2Client


def test_images_survive_a_restart(tmp_path):
    image = build_image([tar_layer({"etc/motd": b"hello"}), random_layer(6 * 1024 * 1024, seed=3)])
    first = start_registry("moorage", tmp_path)
    try:
        V2Client(first.url, authed_session(first)).push("library/keep", image, "1")
        refresh = requests.post(f"{first.url}/token", data={
            "grant_type": "password", "username": first.username, "password": first.password,
            "service": "moorage", "client_id": "test", "access_type": "offline"}, timeout=30).json()["refresh_token"]
    finally:
        stop_registry(first)

    second = start_registry("moorage", tmp_path, password=first.password)
    try:
        # The administrator, the signing keys and so a refresh token outlive the restart.
        renewed = requests.post(f"{second.url}/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh, "service": "moorage",
            "scope": "repository:library/keep:pull"}, timeout=30)
        assert renewed.status_code == 200, renewed.text
        session = authed_session(second)
        manifest = session.get(f"{second.url}/v2/library/keep/manifests/1",
                                headers={"Accept": MANIFEST_ACCEPT}, timeout=30)
        assert manifest.status_code == 200, second.log_tail()
        assert manifest.content == image.manifest.data
        for blob in image.blobs():
            pulled = session.get(f"{second.url}/v2/library/keep/blobs/{blob.digest}", timeout=60)
            assert pulled.status_code == 200
            assert pulled.content == blob.data
        tags = session.get(f"{second.url}/v2/library/keep/tags/list", timeout=30).json()
        assert tags["tags"] == ["1"]
    finally:
        stop_registry(second)
