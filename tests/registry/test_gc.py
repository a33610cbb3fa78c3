"""Online garbage collection against moto: what nothing uses goes after the grace period,
nothing in use ever goes, and a run reads only the marks that fell due."""
from __future__ import annotations

import threading
import time

import pytest

from chalicelib.oci import Digest, OciError, RepoName, Tag
from tests.moto_services import moto_services
from tests.support.service import digest_of, push_blob, push_image

NAME = RepoName.parse("library/app")
OTHER = RepoName.parse("library/other")
GRACE_H = 1


@pytest.fixture
def services():
    with moto_services(MOORAGE_GC_GRACE=str(GRACE_H * 3600)) as services:
        yield services


def _later(services, hours: float = GRACE_H + 1.01) -> None:
    services.clock.advance(hours=hours)


def _stored(services, data: bytes) -> bool:
    record = services.metadata.get_registry_blob("library", str(digest_of(data)))
    return record is not None and services.uploads._objects.size(record.key) is not None


def test_nothing_is_collected_before_the_grace_period(services):
    push_blob(services, NAME, b"orphan")
    _later(services, hours=0.5)
    report = services.gc.run()
    assert report.blobs == [] and _stored(services, b"orphan")


def test_an_upload_no_manifest_uses_is_collected_with_its_bytes(services):
    push_blob(services, NAME, b"orphan")
    before = services.metadata.registry_bytes("library")
    _later(services)
    dry = services.gc.run(dry_run=True)
    assert [b["digest"] for b in dry.blobs] == [str(digest_of(b"orphan"))]
    assert _stored(services, b"orphan")  # a dry run removes nothing
    report = services.gc.run()
    assert report.blobs == dry.blobs and report.blob_links == dry.blob_links
    assert not _stored(services, b"orphan")
    assert services.metadata.get_blob("library", "app", str(digest_of(b"orphan"))) is None
    assert services.metadata.registry_bytes("library") == before - len(b"orphan")
    assert services.gc.run().marks_read == 0  # marks are read once


def test_blobs_of_a_tagged_image_stay_and_go_once_the_image_is_deleted(services):
    digest = push_image(services, NAME, "1", b"layer-a", config=b'{"a":1}')
    _later(services)
    assert services.gc.run().blobs == []
    assert _stored(services, b"layer-a")
    services.manifests.delete(NAME, Digest.parse(digest), "t")
    _later(services)
    report = services.gc.run()
    assert {b["digest"] for b in report.blobs} == {str(digest_of(b"layer-a")), str(digest_of(b'{"a":1}'))}
    assert len(report.manifest_objects) == 1
    assert not _stored(services, b"layer-a")


def test_a_blob_another_repository_still_links_stays(services):
    push_image(services, NAME, "1", b"shared")
    assert services.uploads.mount(OTHER, digest_of(b"shared"), str(NAME), "t")
    push_image(services, OTHER, "1", b"shared")
    services.manifests.delete(NAME, Digest.parse(services.manifests.resolve(NAME, Tag.parse("1"), []).digest), "t")
    _later(services)
    report = services.gc.run()
    assert str(digest_of(b"shared")) in {link["digest"] for link in report.blob_links}  # NAME's link went
    assert str(digest_of(b"shared")) not in {b["digest"] for b in report.blobs}  # OTHER still links it
    assert _stored(services, b"shared")
    record = services.manifests.resolve(OTHER, Tag.parse("1"), [])
    assert services.manifests.content(OTHER, record)


def test_a_blob_mounted_within_the_grace_period_is_kept(services):
    push_blob(services, NAME, b"orphan")  # at 0h: its link is looked at after 1h
    _later(services, hours=1.5)
    services.uploads.mount(OTHER, digest_of(b"orphan"), str(NAME), "t")  # used again at 1.5h
    _later(services, hours=0.55)
    report = services.gc.run()  # at 2.05h: app's link goes, the blob stays (other links it)
    assert [link["repository"] for link in report.blob_links] == ["app"]
    assert _stored(services, b"orphan") and report.blobs == []
    _later(services, hours=1.5)
    report = services.gc.run()  # nobody used other's link either: now both go
    assert [link["repository"] for link in report.blob_links] == ["other"]
    assert not _stored(services, b"orphan")


def test_a_manifest_push_loses_cleanly_to_gc_never_leaving_a_dangling_manifest(services):
    blob = push_blob(services, NAME, b"late")
    _later(services)
    services.gc.run()
    from tests.support.service import manifest_bytes
    raw = manifest_bytes(push_blob(services, NAME, b"{}"), [blob])
    with pytest.raises(OciError) as refused:
        services.manifests.put(NAME, Tag.parse("1"), "application/vnd.oci.image.manifest.v1+json", raw, "t")
    assert refused.value.code.code == "MANIFEST_BLOB_UNKNOWN"
    with pytest.raises(OciError):
        services.manifests.resolve(NAME, Tag.parse("1"), [])


def test_gc_racing_pushes_loses_nothing(services):
    """Pushes go on in threads while GC runs again and again. Each image uses a layer that
    is due for collection when the pushes start (an abandoned upload), so GC's conditional
    deletes race with the pushes' uploads, touches and reference counts over the same items.
    Every image pushed is complete afterwards, and a last GC removes none of it."""
    push_blob(services, NAME, b"common-layer")
    push_blob(services, NAME, b"garbage")
    _later(services)
    pushed: dict[str, tuple[RepoName, bytes]] = {}
    errors: list[Exception] = []

    def pusher(n: int) -> None:
        name = NAME if n % 2 else OTHER
        try:
            for i in range(3):
                layer = b"layer-%d-%d" % (n, i)
                push_image(services, name, f"t{n}-{i}", layer, b"common-layer")
                pushed[f"t{n}-{i}"] = (name, layer)
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    runs = 0
    while any(t.is_alive() for t in threads):
        services.gc.run()
        runs += 1
        time.sleep(0.01)  # let the pushers in between runs (one GIL, one in-process moto)
    for thread in threads:
        thread.join()
    assert not errors and runs > 1
    _later(services)
    services.gc.run()
    assert not _stored(services, b"garbage")
    for tag, (name, layer) in pushed.items():
        record = services.manifests.resolve(name, Tag.parse(tag), [])
        assert services.manifests.content(name, record)
        for data in (layer, b"common-layer", b"{}"):
            blob = services.content.blob(name, digest_of(data))
            assert services.uploads._objects.get(blob.key) == data
