"""Push workflow (conformance 02_push): blob uploads in every flow the spec names
(monolithic POST, POST + PUT, POST + PATCH... + PUT, streamed bodies, mounts), then
manifests, with every status and error code the spec gives them."""

from __future__ import annotations

import json
import os
import random
import threading

import pytest
import requests

from tests.registry.helpers import (
    GATEWAY_PIECE,
    MIB,
    OCTET,
    TIMEOUT,
    artifact,
    assert_error,
    sha256,
    unique_repo,
    variant,
)
from tests.support.auth import authed_session
from tests.support.images import (
    DOCKER,
    EMPTY_JSON,
    EMPTY_JSON_MEDIA_TYPE,
    OCI,
    Blob,
    build_image,
    build_index,
    tar_layer,
)

EMPTY_DIGEST = sha256(b"")


def rand(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def uploads(api, repo: str) -> str:
    return api.v2(repo, "blobs", "uploads") + "/"


def assert_committed(api, response: requests.Response, repo: str, data: bytes) -> None:
    """201 with Location and Docker-Content-Digest, and the blob pulls back byte for byte."""
    digest = sha256(data)
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    location = response.headers["Location"]
    assert location.endswith(f"/v2/{repo}/blobs/{digest}"), location
    head = api.head(api.url(location))
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(data)
    assert head.headers["Docker-Content-Digest"] == digest
    assert api.pull_blob(repo, digest) == data


def assert_upload_session(response: requests.Response, repo: str, status: int, size: int) -> str:
    """An upload session answer: status, Location of the session, Range 0-<end>."""
    assert response.status_code == status, response.text
    location = response.headers["Location"]
    assert f"/v2/{repo}/blobs/uploads/" in location, location
    assert response.headers["Range"] == f"0-{max(size - 1, 0)}"
    return location


def assert_blob_absent(api, repo: str, *digests: str) -> None:
    for digest in digests:
        assert_error(api.head(api.v2(repo, "blobs", digest)), 404)
        assert_error(api.get(api.v2(repo, "blobs", digest)), 404, "BLOB_UNKNOWN")


# ---- monolithic -----------------------------------------------------------------------


def test_monolithic_post_with_digest(api, repo):
    data = rand(70_000, 1)
    response = api.post(uploads(api, repo), params={"digest": sha256(data)}, data=data, headers=OCTET)
    assert_committed(api, response, repo, data)


def test_post_then_put_with_body(api, repo):
    data = rand(50_000, 2)
    started = api.post(uploads(api, repo), headers={"Content-Length": "0"})
    location = assert_upload_session(started, repo, 202, 0)
    done = api.put(api.url(location), params={"digest": sha256(data)}, data=data, headers=OCTET)
    assert_committed(api, done, repo, data)


def test_empty_blob(api, repo):
    response = api.post(uploads(api, repo), params={"digest": EMPTY_DIGEST}, data=b"", headers=OCTET)
    assert_committed(api, response, repo, b"")


def test_post_advertises_chunk_min_length(api, repo):
    started = api.start_upload(repo)
    assert int(started.headers["OCI-Chunk-Min-Length"]) > 0


def test_large_monolithic_post_streams_through_the_gateway(api, repo):
    data = rand(GATEWAY_PIECE + 5, 3)  # more than one gateway piece
    response = api.post(uploads(api, repo), params={"digest": sha256(data)}, data=data, headers=OCTET)
    assert_committed(api, response, repo, data)


# ---- chunked --------------------------------------------------------------------------


def test_chunked_upload_in_order(api, repo):
    data = rand(3000, 4)
    location = api.start_upload(repo).headers["Location"]
    first = api.patch(api.url(location), data=data[:1000], headers={**OCTET, "Content-Range": "0-999"})
    location = assert_upload_session(first, repo, 202, 1000)
    second = api.patch(api.url(location), data=data[1000:2500], headers={**OCTET, "Content-Range": "1000-2499"})
    location = assert_upload_session(second, repo, 202, 2500)
    status = api.get(api.url(location))
    assert assert_upload_session(status, repo, 204, 2500) == location
    assert status.content == b""
    # The final chunk travels with the PUT, with its Content-Range as conformance sends it.
    done = api.put(api.url(location), params={"digest": sha256(data)}, data=data[2500:],
                   headers={**OCTET, "Content-Range": "2500-2999"})
    assert_committed(api, done, repo, data)


def test_upload_status_of_a_fresh_session(api, repo):
    location = api.start_upload(repo).headers["Location"]
    status = api.get(api.url(location))
    assert assert_upload_session(status, repo, 204, 0) == location


def test_out_of_order_chunk_is_416(api, repo):
    data = rand(100, 5)
    location = api.start_upload(repo).headers["Location"]
    first = api.patch(api.url(location), data=data[:50], headers={**OCTET, "Content-Range": "0-49"})
    location = assert_upload_session(first, repo, 202, 50)
    gap = api.patch(api.url(location), data=data[60:], headers={**OCTET, "Content-Range": "60-99"})
    assert_error(gap, 416, "RANGE_INVALID", "BLOB_UPLOAD_INVALID")
    # The session is as it was and the right chunk still fits.
    assert_upload_session(api.get(api.url(location)), repo, 204, 50)
    rest = api.patch(api.url(location), data=data[50:], headers={**OCTET, "Content-Range": "50-99"})
    location = assert_upload_session(rest, repo, 202, 100)
    assert_committed(api, api.put(api.url(location), params={"digest": sha256(data)}), repo, data)


def test_first_chunk_not_at_zero_is_416(api, repo):
    location = api.start_upload(repo).headers["Location"]
    response = api.patch(api.url(location), data=b"abcde", headers={**OCTET, "Content-Range": "5-9"})
    assert_error(response, 416, "RANGE_INVALID", "BLOB_UPLOAD_INVALID")
    assert_upload_session(api.get(api.url(location)), repo, 204, 0)


def test_retried_chunk_is_416(api, repo):
    """conformance 02_push: "Retry previous blob chunk should return 416"."""
    data = rand(64, 6)
    location = api.start_upload(repo).headers["Location"]
    headers = {**OCTET, "Content-Range": "0-31"}
    location = assert_upload_session(api.patch(api.url(location), data=data[:32], headers=headers), repo, 202, 32)
    assert_error(api.patch(api.url(location), data=data[:32], headers=headers), 416)
    assert_upload_session(api.get(api.url(location)), repo, 204, 32)


def test_content_range_that_disagrees_with_the_body_is_416(api, repo):
    location = api.start_upload(repo).headers["Location"]
    response = api.patch(api.url(location), data=b"0123456789", headers={**OCTET, "Content-Range": "0-3"})
    assert_error(response, 416, "RANGE_INVALID", "BLOB_UPLOAD_INVALID")


def test_streamed_chunk_out_of_order_is_416(api, repo):
    """A PATCH bigger than one gateway piece is checked against its Content-Range, piece by piece."""
    data = rand(GATEWAY_PIECE + MIB, 7)
    location = api.start_upload(repo).headers["Location"]
    response = api.patch(api.url(location), data=data,
                         headers={**OCTET, "Content-Range": f"100-{100 + len(data) - 1}"})
    assert_error(response, 416, "RANGE_INVALID", "BLOB_UPLOAD_INVALID")
    assert_upload_session(api.get(api.url(location)), repo, 204, 0)
    # The same bytes at the right offset go through, piece by piece.
    response = api.patch(api.url(location), data=data, headers={**OCTET, "Content-Range": f"0-{len(data) - 1}"})
    location = assert_upload_session(response, repo, 202, len(data))
    assert_committed(api, api.put(api.url(location), params={"digest": sha256(data)}), repo, data)


def _patch_chunks(api, repo: str, data: bytes, sizes: list[int]) -> str:
    location = api.start_upload(repo).headers["Location"]
    offset = 0
    for size in sizes:
        chunk = data[offset:offset + size]
        response = api.patch(api.url(location), data=chunk,
                             headers={**OCTET, "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
        offset += len(chunk)
        location = assert_upload_session(response, repo, 202, offset)
    return location


def test_chunks_larger_than_the_part_minimum(api, repo):
    """3 x 6 MiB + a 1 MiB tail: S3 parts of >= 5 MiB, the last one smaller."""
    data = rand(19 * MIB, 8)
    location = _patch_chunks(api, repo, data, [6 * MIB, 6 * MIB, 6 * MIB, 1 * MIB])
    done = api.put(api.url(location), params={"digest": sha256(data)})
    assert_committed(api, done, repo, data)


def test_chunks_smaller_than_the_part_minimum_carry_over(api, repo):
    """Small chunks wait in the carry-over buffer until they make a part; the final PUT
    carries bytes too."""
    sizes = [1 * MIB, 3 * MIB, 2 * MIB, 700 * 1024, 64 * 1024, 7 * MIB, 100 * 1024]
    tail = 50 * 1024
    data = rand(sum(sizes) + tail, 9)
    location = _patch_chunks(api, repo, data, sizes)
    done = api.put(api.url(location), params={"digest": sha256(data)}, data=data[-tail:], headers=OCTET)
    assert_committed(api, done, repo, data)


def test_small_chunks_only(api, repo):
    data = rand(300 * 1024 + 3, 10)
    location = _patch_chunks(api, repo, data, [100 * 1024, 100 * 1024, 100 * 1024, 3])
    assert_committed(api, api.put(api.url(location), params={"digest": sha256(data)}), repo, data)


def _stream(data: bytes, piece: int = MIB):
    for start in range(0, len(data), piece):
        yield data[start:start + piece]


def test_streamed_patch_with_chunked_transfer_encoding(api, repo):
    """docker's push: one PATCH per layer with no length, split by the gateway into pieces."""
    data = rand(GATEWAY_PIECE + 4 * MIB + 12345, 11)
    location = api.start_upload(repo).headers["Location"]
    response = api.patch(api.url(location), data=_stream(data), headers=OCTET)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    location = assert_upload_session(response, repo, 202, len(data))
    assert_committed(api, api.put(api.url(location), params={"digest": sha256(data)}), repo, data)


def test_streamed_put_with_chunked_transfer_encoding(api, repo):
    """containerd's push: POST, then one PUT ?digest= with the whole layer."""
    data = rand(GATEWAY_PIECE + 1, 12)
    location = api.start_upload(repo).headers["Location"]
    response = api.put(api.url(location), params={"digest": sha256(data)}, data=_stream(data), headers=OCTET)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert_committed(api, response, repo, data)


def test_streamed_put_with_wrong_digest_leaves_nothing(api, repo):
    data = rand(GATEWAY_PIECE + MIB, 13)
    claimed = sha256(b"something else")
    location = api.start_upload(repo).headers["Location"]
    response = api.put(api.url(location), params={"digest": claimed}, data=_stream(data), headers=OCTET)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_blob_absent(api, repo, claimed, sha256(data))


# ---- status, cancel, wrong digest -----------------------------------------------------


def test_cancel_upload(api, repo):
    location = api.start_upload(repo).headers["Location"]
    location = api.patch(api.url(location), data=b"partial", headers=OCTET).headers["Location"]
    cancelled = api.delete(api.url(location))
    assert cancelled.status_code == 204
    assert_error(api.get(api.url(location)), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(api.patch(api.url(location), data=b"more", headers=OCTET), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(api.put(api.url(location), params={"digest": sha256(b"partial")}), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(api.delete(api.url(location)), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_blob_absent(api, repo, sha256(b"partial"))


def test_wrong_digest_at_put(api, repo):
    data = rand(10_000, 14)
    claimed = sha256(data + b"!")
    location = api.start_upload(repo).headers["Location"]
    response = api.put(api.url(location), params={"digest": claimed}, data=data, headers=OCTET)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_blob_absent(api, repo, claimed, sha256(data))


def test_wrong_digest_after_chunks(api, repo):
    data = rand(6 * MIB, 15)
    location = _patch_chunks(api, repo, data, [6 * MIB])
    claimed = sha256(data[:-1])
    assert_error(api.put(api.url(location), params={"digest": claimed}), 400, "DIGEST_INVALID")
    assert_blob_absent(api, repo, claimed, sha256(data))


def test_wrong_digest_on_monolithic_post(api, repo):
    claimed = sha256(b"claimed")
    response = api.post(uploads(api, repo), params={"digest": claimed}, data=b"actual", headers=OCTET)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_blob_absent(api, repo, claimed, sha256(b"actual"))


def test_put_without_digest_does_not_complete(api, repo):
    location = api.start_upload(repo).headers["Location"]
    assert_error(api.put(api.url(location), data=b"abc", headers=OCTET), 400, "DIGEST_INVALID")
    assert_blob_absent(api, repo, sha256(b"abc"))


# ---- mount ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source(api):
    repo = unique_repo("mount-source")
    data = rand(40_000, 16)
    api.push_blob(repo, data)
    return repo, data


def test_mount_from_a_repository_that_has_the_blob(api, repo, source):
    origin, data = source
    response = api.mount(repo, sha256(data), origin)
    assert_committed(api, response, repo, data)


def test_mount_falls_back_to_an_upload_when_the_source_lacks_the_blob(api, repo, source):
    origin, _ = source
    data = b"not in the source"
    response = api.mount(repo, sha256(data), origin)
    location = assert_upload_session(response, repo, 202, 0)
    assert_committed(api, api.put(api.url(location), params={"digest": sha256(data)}, data=data,
                                  headers=OCTET), repo, data)


@pytest.mark.parametrize("origin", ["nosuch/mount-source", "other/repo", "library/never-pushed-x9"])
def test_mount_from_another_registry_or_unknown_repo_falls_back(api, repo, source, origin):
    _, data = source
    response = api.mount(repo, sha256(data), origin)
    assert_upload_session(response, repo, 202, 0)
    assert_blob_absent(api, repo, sha256(data))


def test_mount_from_an_invalid_repository_name_falls_back(api, repo, source):
    _, data = source
    assert_upload_session(api.mount(repo, sha256(data), "Not A Name"), repo, 202, 0)


def test_mount_with_an_invalid_digest_falls_back(api, repo, source):
    origin, _ = source
    assert_upload_session(api.mount(repo, "garbage", origin), repo, 202, 0)


def test_mount_without_from(api, repo, source):
    _, data = source
    response = api.post(uploads(api, repo), params={"mount": sha256(data)})
    assert response.status_code in (201, 202)  # automatic content discovery is optional
    if response.status_code == 202:
        assert_upload_session(response, repo, 202, 0)


# ---- concurrency ----------------------------------------------------------------------


def _concurrently(registry, targets: list[str], data: bytes) -> list[requests.Response]:
    """Start one upload per target, then PUT them all at once (a barrier lines them up)."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def upload(i: int, target: str) -> None:
        try:
            with authed_session(registry) as session:
                started = session.post(f"{registry.url}/v2/{target}/blobs/uploads/", timeout=TIMEOUT)
                location = started.headers["Location"]
                barrier.wait(timeout=TIMEOUT)
                results[i] = session.put(f"{registry.url}{location}", params={"digest": sha256(data)},
                                         data=data, headers=OCTET, timeout=TIMEOUT)
        except BaseException as error:  # noqa: BLE001  (reported by the caller)
            results[i] = error

    threads = [threading.Thread(target=upload, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    return results


def test_concurrent_uploads_of_the_same_blob(api, registry, repo):
    data = rand(200_000, 17)
    for result in _concurrently(registry, [repo, repo], data):
        assert isinstance(result, requests.Response), result
        assert result.status_code == 201, result.text
        assert result.headers["Docker-Content-Digest"] == sha256(data)
    assert api.pull_blob(repo, sha256(data)) == data


@pytest.mark.skipif(not os.environ.get("MOORAGE_STRESS"), reason="stress test: set MOORAGE_STRESS=1 (~10 s)")
def test_concurrent_commits_lose_no_writes(api, registry, repo):
    """Uploads of a blob the registry already holds end in a conditional transaction that
    fails by design; writes that other requests make meanwhile must all survive. (moto rolls
    a failed transaction back by restoring a copy of the whole table: without the storage's
    write lock, acknowledged writes of other requests vanished and some requests got 503.)"""
    known, other = rand(1000, 18), rand(1000, 19)
    api.push_blob(repo, known)
    api.push_blob(repo, other)
    done = threading.Event()
    errors: list = []
    mounted: list[str] = []

    def losers(k: int) -> None:
        with authed_session(registry) as session:
            for i in range(6):
                r = session.post(f"{registry.url}/v2/{repo}-l{k}x{i}/blobs/uploads/",
                                 params={"digest": sha256(known)}, data=known, headers=OCTET, timeout=TIMEOUT)
                if r.status_code != 201:
                    errors.append(r.text)

    def writer(k: int) -> None:
        with authed_session(registry) as session:
            i = 0
            while not done.is_set():
                target = f"{repo}-m{k}x{i}"
                r = session.post(f"{registry.url}/v2/{target}/blobs/uploads/",
                                 params={"mount": sha256(other), "from": repo}, timeout=TIMEOUT)
                if r.status_code == 201:
                    mounted.append(target)
                else:
                    errors.append(r.text)
                i += 1

    loser_threads = [threading.Thread(target=losers, args=(k,)) for k in range(4)]
    writer_threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for thread in loser_threads + writer_threads:
        thread.start()
    for thread in loser_threads:
        thread.join(120)
    done.set()
    for thread in writer_threads:
        thread.join(120)
    lost = [m for m in mounted if api.head(api.v2(m, "blobs", sha256(other))).status_code != 200]
    assert not errors, errors[:3]
    assert not lost, f"{len(lost)} of {len(mounted)} acknowledged mounts vanished"


# ---- manifests ------------------------------------------------------------------------


def manifest_url(api, repo: str, reference: str) -> str:
    return api.v2(repo, "manifests", reference)


def assert_manifest_created(response: requests.Response, repo: str, digest: str) -> None:
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["Location"].endswith(f"/v2/{repo}/manifests/{digest}")


def assert_manifest_absent(api, repo: str, *references: str) -> None:
    for reference in references:
        assert_error(api.get(manifest_url(api, repo, reference)), 404, "MANIFEST_UNKNOWN")


def test_put_manifest_by_tag(api, repo, seed):
    image = seed.image
    for blob in image.blobs():
        api.mount(repo, blob.digest, seed.repo)
    for tag in ("test0", "test1", "test2", "test3"):  # conformance pushes one manifest under 4 tags
        response = api.put_manifest(repo, tag, image.manifest)
        assert_manifest_created(response, repo, image.digest)
        assert "OCI-Subject" not in response.headers
    assert api.tags(repo).json()["tags"] == ["test0", "test1", "test2", "test3"]
    for reference in ("test2", image.digest):
        got = api.get(manifest_url(api, repo, reference), headers={"Accept": OCI.manifest})
        assert got.status_code == 200 and got.content == image.manifest.data


def test_put_manifest_by_digest(api, repo, seed):
    image = seed.image
    for blob in image.blobs():
        api.mount(repo, blob.digest, seed.repo)
    assert_manifest_created(api.put_manifest(repo, image.digest, image.manifest), repo, image.digest)
    got = api.get(manifest_url(api, repo, image.digest))
    assert got.status_code == 200 and got.content == image.manifest.data
    assert api.tags(repo).json()["tags"] == []


def test_retag_moves_the_tag(api, repo, seed):
    first = api.copy_image(seed, repo, "latest")
    second = variant(seed.image, "second")
    assert_manifest_created(api.put_manifest(repo, "latest", second), repo, second.digest)
    assert api.get(manifest_url(api, repo, "latest")).content == second.data
    assert api.get(manifest_url(api, repo, first.digest)).content == first.manifest.data


def test_manifest_without_layers(api, repo):
    """conformance: "Registry should accept a manifest upload with no layers"."""
    config = Blob.of(EMPTY_JSON_MEDIA_TYPE, EMPTY_JSON)
    api.push_blob(repo, config.data)
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI.manifest, "artifactType": "application/vnd.example",
                      "config": config.descriptor(), "layers": []}, separators=(",", ":")).encode()
    assert_manifest_created(api.put_manifest(repo, "empty", raw, OCI.manifest), repo, sha256(raw))


def test_docker_manifest_list(api, repo):
    amd = build_image([tar_layer({"a": b"amd"})], media="docker")
    index = build_index([amd], media="docker")
    response = api.push(repo, index, "multi")
    assert_manifest_created(response, repo, index.digest)
    got = api.get(manifest_url(api, repo, "multi"), headers={"Accept": DOCKER.index})
    assert got.headers["Content-Type"] == DOCKER.index and got.content == index.manifest.data


def test_manifest_with_missing_blobs(api, repo, seed):
    image = build_image([tar_layer({"never": b"uploaded"})])
    api.push_blob(repo, image.config.data)  # the config is there, the layer is not
    response = api.put_manifest(repo, "missing", image.manifest)
    error = assert_error(response, 404, "MANIFEST_BLOB_UNKNOWN")
    assert image.layers[0].digest in json.dumps(error)
    assert_manifest_absent(api, repo, "missing", image.digest)


def test_manifest_whose_blobs_are_only_in_another_repository(api, repo, seed):
    response = api.put_manifest(repo, "elsewhere", seed.image.manifest)
    assert_error(response, 404, "MANIFEST_BLOB_UNKNOWN")
    assert_manifest_absent(api, repo, "elsewhere", seed.image.digest)


def test_index_with_a_missing_child(api, repo, seed):
    child = seed.image
    index = build_index([child])
    response = api.put_manifest(repo, "idx", index.manifest)
    error = assert_error(response, 404, "MANIFEST_UNKNOWN")
    assert child.digest in json.dumps(error)
    assert_manifest_absent(api, repo, "idx", index.digest)
    api.copy_image(seed, repo)  # the child by digest
    assert_manifest_created(api.put_manifest(repo, "idx", index.manifest), repo, index.digest)


def _padded_manifest(image, size: int) -> bytes:
    doc = json.loads(image.manifest.data)
    doc["annotations"] = {"org.example.pad": ""}
    base = len(json.dumps(doc, separators=(",", ":")).encode())
    doc["annotations"]["org.example.pad"] = "x" * (size - base)
    raw = json.dumps(doc, separators=(",", ":")).encode()
    assert len(raw) == size
    return raw


def test_manifest_of_4_mib_is_accepted(api, repo, seed):
    """distribution-spec: registries SHOULD accept manifests of at least 4 MiB."""
    for blob in seed.image.blobs():
        api.mount(repo, blob.digest, seed.repo)
    raw = _padded_manifest(seed.image, 4 * MIB)
    assert_manifest_created(api.put_manifest(repo, "big", raw, OCI.manifest), repo, sha256(raw))
    got = api.get(manifest_url(api, repo, "big"))
    assert got.content == raw and int(got.headers["Content-Length"]) == len(raw)


def test_manifest_over_4_mib_is_413(api, repo, seed):
    for blob in seed.image.blobs():
        api.mount(repo, blob.digest, seed.repo)
    raw = _padded_manifest(seed.image, 4 * MIB + 1)
    assert_error(api.put_manifest(repo, "huge", raw, OCI.manifest), 413, "SIZE_INVALID", "MANIFEST_INVALID")
    assert_manifest_absent(api, repo, "huge", sha256(raw))


def test_manifest_bigger_than_a_gateway_piece_names_the_manifest_limit(api, repo, seed):
    raw = _padded_manifest(seed.image, GATEWAY_PIECE + 1)
    error = assert_error(api.put_manifest(repo, "huge", raw, OCI.manifest), 413, "SIZE_INVALID", "MANIFEST_INVALID")
    assert "manifest" in error["message"].lower()
    assert "gateway" not in error["message"].lower()


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/vnd.docker.distribution.manifest.v1+prettyjws",
         {"schemaVersion": 1, "name": "library/x", "tag": "1", "fsLayers": [], "signatures": []}),
        ("application/vnd.docker.distribution.manifest.v1+json",
         {"schemaVersion": 1, "name": "library/x", "tag": "1", "fsLayers": []}),
        (OCI.manifest, {"schemaVersion": 1, "name": "library/x", "tag": "1", "fsLayers": []}),
    ],
)
def test_schema1_manifest_is_refused_clearly(api, repo, content_type, body):
    raw = json.dumps(body).encode()
    error = assert_error(api.put_manifest(repo, "old", raw, content_type), 400, "MANIFEST_INVALID")
    assert "schema 1" in error["message"].lower()
    assert_manifest_absent(api, repo, "old")


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b'"text"', b'{"schemaVersion":2,"mediaType":'])
def test_bad_json_manifest(api, repo, raw):
    assert_error(api.put_manifest(repo, "bad", raw, OCI.manifest), 400, "MANIFEST_INVALID")
    assert_manifest_absent(api, repo, "bad")


def test_put_by_digest_that_does_not_match_the_body(api, repo, seed):
    for blob in seed.image.blobs():
        api.mount(repo, blob.digest, seed.repo)
    wrong = sha256(b"another manifest")
    assert_error(api.put_manifest(repo, wrong, seed.image.manifest), 400, "DIGEST_INVALID")
    assert_manifest_absent(api, repo, wrong, seed.image.digest)


def test_manifest_with_subject_answers_oci_subject(api, repo, seed):
    subject = api.copy_image(seed, repo, "subject")
    sbom = artifact(seed.image, "application/vnd.example.sbom", subject=subject)
    response = api.place(seed, repo, sbom)
    assert_manifest_created(response, repo, sbom.digest)
    assert response.headers["OCI-Subject"] == subject.digest


def test_manifest_whose_subject_does_not_exist_yet(api, repo, seed):
    """conformance pushes referrers before (and without) their subject."""
    missing = build_image([tar_layer({"never": b"pushed"})])
    sig = artifact(seed.image, "application/vnd.example.sig", subject=missing)
    response = api.place(seed, repo, sig)
    assert_manifest_created(response, repo, sig.digest)
    assert response.headers["OCI-Subject"] == missing.digest


# ---- a registry that does not exist ---------------------------------------------------


def _assert_no_registry(response: requests.Response, registry_name: str = "nosuch") -> None:
    error = assert_error(response, 404, "NAME_UNKNOWN")
    message = error["message"].lower()
    assert registry_name in message and "registry" in message and "not exist" in message, error


def test_push_into_a_registry_that_does_not_exist(api, seed):
    repo = "nosuch/app"
    _assert_no_registry(api.post(uploads(api, repo)))
    _assert_no_registry(api.post(uploads(api, repo), params={"digest": sha256(b"x")}, data=b"x", headers=OCTET))
    _assert_no_registry(api.mount(repo, seed.image.layers[0].digest, seed.repo))
    _assert_no_registry(api.put_manifest(repo, "latest", seed.image.manifest))
    assert_blob_absent(api, repo, sha256(b"x"))
    assert not [name for name in api.catalog() if name.startswith("nosuch/")]
