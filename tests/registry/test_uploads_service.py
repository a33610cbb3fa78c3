"""UploadService against moto: chunking, carry-over, verification, races, expiry."""
from __future__ import annotations

import hashlib
import threading

import pytest

from chalicelib.oci import Code, Digest, OciError, RepoName
from chalicelib.registry.uploads import PART_MIN
from tests.moto_services import moto_services

NAME = RepoName.parse("library/app")


@pytest.fixture
def services():
    with moto_services() as services:
        yield services


def _digest(data: bytes) -> Digest:
    return Digest.parse("sha256:" + hashlib.sha256(data).hexdigest())


def _stored(services, digest: Digest) -> bytes:
    blob = services.content.blob(NAME, digest)
    return services.uploads._objects.get(blob.key)


def test_chunks_below_and_above_the_part_minimum_round_trip(services):
    data = bytes(range(256)) * (PART_MIN * 3 // 256) + b"tail"
    session = services.uploads.start(NAME, "t")
    offset = 0
    for size in (1024, PART_MIN - 1, PART_MIN + 7, 3 * 1024 * 1024):
        chunk = data[offset:offset + size]
        session = services.uploads.append(NAME, session.id, chunk, (offset, offset + len(chunk) - 1))
        offset += len(chunk)
    assert session.offset == offset
    committed = services.uploads.finish(NAME, session.id, _digest(data), data[offset:], "t")
    assert committed.size == len(data)
    assert _stored(services, _digest(data)) == data


def test_out_of_order_chunk_is_refused_and_changes_nothing(services):
    session = services.uploads.start(NAME, "t")
    services.uploads.append(NAME, session.id, b"abc", (0, 2))
    with pytest.raises(OciError) as error:
        services.uploads.append(NAME, session.id, b"xyz", (10, 12))
    assert error.value.code is Code.RANGE_INVALID
    assert services.uploads.get(NAME, session.id).offset == 3


def test_wrong_digest_commits_nothing_and_ends_the_session(services):
    session = services.uploads.start(NAME, "t")
    wrong = _digest(b"something else")
    with pytest.raises(OciError) as error:
        services.uploads.finish(NAME, session.id, wrong, b"data", "t")
    assert error.value.code is Code.DIGEST_INVALID
    with pytest.raises(OciError):
        services.content.blob(NAME, wrong)
    with pytest.raises(OciError) as error:
        services.uploads.get(NAME, session.id)
    assert error.value.code is Code.BLOB_UPLOAD_UNKNOWN


def test_same_blob_uploaded_twice_at_once_is_stored_once(services):
    data = b"x" * 100_000
    sessions = [services.uploads.start(NAME, "t") for _ in range(4)]
    results = []
    threads = [threading.Thread(target=lambda s=s: results.append(
        services.uploads.finish(NAME, s.id, _digest(data), data, "t"))) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.size for r in results] == [len(data)] * 4
    keys = services.uploads._objects._s3.list_objects_v2(Bucket="test-bucket", Prefix="library/blobs/")
    assert len(keys.get("KeyCount") and keys["Contents"]) == 1  # one copy kept, the others removed


def test_mount_needs_the_blob_in_the_same_registry(services):
    data = b"layer"
    session = services.uploads.start(NAME, "t")
    services.uploads.finish(NAME, session.id, _digest(data), data, "t")
    other = RepoName.parse("library/other")
    assert services.uploads.mount(other, _digest(data), "library/app", "t") is not None
    assert services.content.blob(other, _digest(data)).size == len(data)
    assert services.uploads.mount(other, _digest(b"nope"), "library/app", "t") is None
    services.registries.ensure("acme", "t")
    assert services.uploads.mount(RepoName.parse("acme/app"), _digest(data), "library/app", "t") is None


def test_expired_sessions_are_swept_with_their_multipart_uploads(services):
    session = services.uploads.start(NAME, "t")
    services.uploads.append(NAME, session.id, b"y" * (PART_MIN + 1), None)
    s3 = services.uploads._objects._s3
    assert s3.list_multipart_uploads(Bucket="test-bucket").get("Uploads")
    services.clock.advance(seconds=services.settings.upload_ttl_s + 2 * 3600)
    with pytest.raises(OciError):  # expired sessions are unknown to clients at once
        services.uploads.get(NAME, session.id)
    assert services.uploads.sweep_expired() == [session.id]
    assert not s3.list_multipart_uploads(Bucket="test-bucket").get("Uploads")
    assert services.uploads.sweep_expired() == []  # nothing twice


def test_cancel_after_commit_does_not_remove_the_blob(services):
    data = b"committed"
    session = services.uploads.start(NAME, "t")
    services.uploads.finish(NAME, session.id, _digest(data), data, "t")
    with pytest.raises(OciError) as error:
        services.uploads.cancel(NAME, session.id)
    assert error.value.code is Code.BLOB_UPLOAD_UNKNOWN
    assert _stored(services, _digest(data)) == data


def test_unknown_registry_is_refused_with_a_clear_message(services):
    with pytest.raises(OciError) as error:
        services.uploads.start(RepoName.parse("nosuch/app"), "t")
    assert error.value.code is Code.NAME_UNKNOWN
    assert "does not exist" in error.value.message
