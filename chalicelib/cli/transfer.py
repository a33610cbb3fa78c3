"""`moorage push` and `moorage pull`: move an OCI image layout to and from the registry.

Blob bytes never pass through the registry's function. A push asks for a direct upload
(`POST /v2/<name>/blobs/uploads/?digest=&size=` with `Moorage-Upload: direct`), sends the
file to the pre-signed S3 URL (or URLs, one per part above 5 GB) it gets back, and commits
with `PUT <Location>?digest=`, which the registry verifies. A pull follows the 307 of blob
GET to storage. Files stream from and to disk and are hashed as they move: no blob is
ever held in memory, and nothing lands in a layout before its digest checks out.

The layout on disk is layout.py's, the HTTP plumbing transport.py's, the display progress.py's.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import requests

from chalicelib.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MANIFEST_TYPES,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    OCI_MANIFEST,
)

from .api import CliError
from .layout import CHUNK, Descriptor, Layout, Manifest, split_layout, walk
from .progress import Progress, human
from .reference import Reference
from .transport import Cancelled, Reader, Transport, error_text, reason, run_all, with_query

ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])


def part_ranges(size: int, part_size: int, count: int) -> list[tuple[int, int, int]]:
    """(part number, offset, length) of each part of a `size`-byte blob cut in `part_size`
    pieces; `count` is how many part URLs the registry gave, which must be exactly enough."""
    if part_size <= 0:
        raise CliError(f"the registry gave an invalid part size {part_size}")
    needed = max(1, -(-size // part_size))
    if count != needed:
        raise CliError(f"the registry gave {count} part URLs for {size} bytes in parts of {part_size} "
                       f"({needed} needed)")
    return [(n + 1, n * part_size, min(part_size, size - n * part_size)) for n in range(needed)]


# ---------------------------------------------------------------- push


class _Pusher:
    def __init__(self, transport: Transport, layout: Layout, name: str, progress: Progress):
        self.t, self.layout, self.name, self.progress = transport, layout, name, progress

    def blob(self, descriptor: Descriptor) -> None:
        digest, size = descriptor.digest, descriptor.size
        path = self.layout.blob_file(descriptor)
        blob_url = f"/v2/{self.name}/blobs/{digest}"
        head = self.t.request("HEAD", blob_url)
        if head.status_code == 200:
            self.progress.finish(digest, "exists", size)
            return
        if head.status_code != 404:
            raise CliError(f"checking blob {digest}: {error_text(head)}")
        start = self.t.request("POST", with_query(f"/v2/{self.name}/blobs/uploads/", digest=digest, size=str(size)),
                               headers={"Moorage-Upload": "direct"}, data=b"")
        if start.status_code == 201:
            self.progress.finish(digest, "linked", size)
            return
        location = start.headers.get("Location")
        if start.status_code != 202 or not location:
            raise CliError(f"pushing blob {digest}: {error_text(start)}")
        location = self.t.absolute(location)
        target = _direct_target(start)
        hasher = hashlib.sha256()
        self.progress.start(digest, size)
        try:
            if target is None:  # a registry without direct uploads: the standard monolithic PUT
                commit = self._put_through_registry(location, path, descriptor, hasher)
            else:
                self._put_to_storage(location, target, path, descriptor, hasher)
                commit = self.t.request("PUT", with_query(location, digest=digest), data=b"")
        except BaseException:
            self._cancel(location)
            raise
        local = "sha256:" + hasher.hexdigest()
        if commit.status_code != 201:
            raise CliError(f"blob {digest} was refused: {error_text(commit)}{_corrupt_hint(path, local, digest)}")
        if local != digest:  # the registry must have caught this; refuse to go on all the same
            raise CliError(f"{path}: bytes hash to {local}, not {digest} (corrupt layout)")
        self.progress.finish(digest, "pushed", size)

    def _body(self, source, length: int, descriptor: Descriptor, hasher) -> Reader | bytes:
        """The next `length` bytes of `source` as a request body, hashed and shown as they go."""
        if not length:
            return b""
        return Reader(source, length, hasher, lambda n: self.progress.advance(descriptor.digest, n), self.t.stop)

    def _put_to_storage(self, location: str, target: dict, path: Path, descriptor: Descriptor, hasher) -> None:
        with open(path, "rb") as source:
            if target.get("url"):
                body = self._body(source, descriptor.size, descriptor, hasher)
                response = self.t.request("PUT", target["url"], data=body, headers=dict(target.get("headers") or {}))
                self._storage_ok(response, path, descriptor, hasher, source)
                return
            urls = list(target.get("parts") or [])
            for number, _offset, length in part_ranges(descriptor.size, int(target.get("part_size") or 0), len(urls)):
                body = self._body(source, length, descriptor, hasher)
                response = self.t.request("PUT", urls[number - 1], data=body,
                                          headers={"Content-Length": str(length)})
                self._storage_ok(response, path, descriptor, hasher, source, part=number)

    def _storage_ok(self, response, path, descriptor, hasher, source, part: int | None = None) -> None:
        if response.status_code < 300:
            return
        # Finish hashing the file to tell a corrupt layout from a storage problem.
        while chunk := source.read(CHUNK):
            hasher.update(chunk)
        what = f"part {part} of blob" if part else "blob"
        local = "sha256:" + hasher.hexdigest()
        raise CliError(f"storage refused {what} {descriptor.digest}: {error_text(response)}"
                       f"{_corrupt_hint(path, local, descriptor.digest)}")

    def _put_through_registry(self, location, path, descriptor, hasher) -> requests.Response:
        with open(path, "rb") as source:
            body = self._body(source, descriptor.size, descriptor, hasher)
            return self.t.request("PUT", with_query(location, digest=descriptor.digest), data=body,
                                  headers={"Content-Type": "application/octet-stream"})

    def _cancel(self, location: str) -> None:
        try:
            self.t.http.delete(location, timeout=(5, 10))
        except requests.RequestException:
            pass

    def manifest(self, manifest: Manifest, reference: str) -> None:
        response = self.t.request("PUT", f"/v2/{self.name}/manifests/{reference}", data=manifest.raw,
                                  headers={"Content-Type": manifest.descriptor.media_type})
        if response.status_code != 201:
            raise CliError(f"pushing manifest {manifest.descriptor.digest} as {self.name}:{reference}: "
                           f"{error_text(response)}")
        returned = response.headers.get("Docker-Content-Digest")
        if returned and returned != manifest.descriptor.digest:
            raise CliError(f"the registry stored manifest {manifest.descriptor.digest} as {returned}")


def _direct_target(response: requests.Response) -> dict | None:
    """The pre-signed target of a direct upload, or None when the registry ignored the ask."""
    if "json" not in response.headers.get("Content-Type", "") or not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not (body.get("url") or body.get("parts")):
        return None
    return body


def _corrupt_hint(path: Path, local: str, digest: str) -> str:
    if local == digest:
        return ""
    return f"; {path} hashes to {local}: the layout is corrupt"


def push(url: str, layout: str | Path, reference: str, jobs: int = 4) -> str:
    """Push the manifest that `layout` (DIR or DIR:REF) names to `reference`; returns its digest."""
    directory, ref = split_layout(layout)
    target = Reference.parse(reference)
    source = Layout(directory)
    root = source.select(ref)
    manifests, blobs = walk(source.read_manifest, root)
    top = manifests[-1]
    if target.digest and target.digest != root.digest:
        raise CliError(f"{reference}: the layout's manifest is {root.digest}")
    transport = Transport(url, jobs)
    # A token before the first upload: a streamed body cannot be sent again after a 401.
    transport.login(f"repository:{target.name}:pull,push", key=target.name)
    progress = Progress()
    pusher = _Pusher(transport, source, target.name, progress)
    try:
        run_all(transport, jobs, pusher.blob, blobs)
        for manifest in manifests[:-1]:
            pusher.manifest(manifest, manifest.descriptor.digest)
        pusher.manifest(top, target.tag or root.digest)
    except Cancelled:
        raise CliError("push interrupted") from None
    finally:
        progress.clear()
    uploaded = progress.counts.get("pushed", 0)
    progress.close(f"pushed {target} ({root.digest}): {len(blobs)} blobs, {uploaded} uploaded, "
                   f"{len(blobs) - uploaded} skipped, {human(progress.moved)} in {progress.elapsed:.2f} s")
    print(f"{target.name}@{root.digest}")
    return root.digest


# ---------------------------------------------------------------- pull


class _Puller:
    def __init__(self, transport: Transport, layout: Layout, name: str, progress: Progress):
        self.t, self.layout, self.name, self.progress = transport, layout, name, progress

    def manifest(self, reference: str, expected: Descriptor | None = None) -> Manifest:
        response = self.t.request("GET", f"/v2/{self.name}/manifests/{reference}", headers={"Accept": ACCEPT},
                                  stream=True)
        try:
            if response.status_code != 200:
                response.content  # noqa: B018 (read the error body)
                raise CliError(f"{_display(self.name, reference)}: {error_text(response)}")
            raw = response.raw.read(MAX_MANIFEST_BYTES + 1, decode_content=True)
        finally:
            response.close()
        if len(raw) > MAX_MANIFEST_BYTES:
            raise CliError(f"{_display(self.name, reference)}: manifest is bigger than {MAX_MANIFEST_BYTES} bytes")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        claimed = expected.digest if expected else response.headers.get("Docker-Content-Digest")
        if _is_digest(reference):
            claimed = reference
        if claimed and claimed != digest:
            raise CliError(f"{_display(self.name, reference)}: the registry sent a manifest hashing to {digest}, "
                           f"not {claimed}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in MANIFEST_TYPES:
            media_type = expected.media_type if expected else ""
        return Manifest.parse(Descriptor(media_type, digest, len(raw)), raw, f"{self.name}@{digest}")

    def blob(self, descriptor: Descriptor) -> None:
        digest, size = descriptor.digest, descriptor.size
        if self.layout.has_blob(descriptor):
            self.progress.finish(digest, "present", size)
            return
        response = self.t.request("GET", f"/v2/{self.name}/blobs/{digest}", stream=True,
                                  headers={"Accept-Encoding": "identity"})
        try:
            if response.status_code != 200:
                response.content  # noqa: B018
                raise CliError(f"pulling blob {digest}: {error_text(response)}")
            self.progress.start(digest, size)
            hasher = hashlib.sha256()
            got = 0
            with self.layout.writing_blob(digest) as out:
                for chunk in response.raw.stream(CHUNK, decode_content=False):
                    if self.t.stop.is_set():
                        raise Cancelled()
                    got += len(chunk)
                    if got > size:
                        raise CliError(f"blob {digest}: storage sent more than its {size} bytes")
                    hasher.update(chunk)
                    out.write(chunk)
                    self.progress.advance(digest, len(chunk))
                actual = "sha256:" + hasher.hexdigest()
                if got != size or actual != digest:
                    raise CliError(f"blob {digest}: received {got} bytes hashing to {actual} "
                                   f"(expected {size} bytes)")
        except requests.RequestException as error:
            raise CliError(f"pulling blob {digest}: {reason(error)}") from error
        finally:
            response.close()
        self.progress.finish(digest, "pulled", size)


def _is_digest(reference: str) -> bool:
    """Whether a checked reference (a Reference's target or a descriptor's digest) is a digest."""
    return ":" in reference  # tags cannot hold ':'


def _display(name: str, reference: str) -> str:
    return f"{name}@{reference}" if _is_digest(reference) else f"{name}:{reference}"


def pull(url: str, reference: str, layout: str | Path, jobs: int = 4) -> str:
    """Pull `reference` (NAME:TAG or NAME@DIGEST) into the OCI layout `layout` (DIR or DIR:REF;
    the ref name defaults to the tag). Returns the manifest digest."""
    directory, ref = split_layout(layout)
    source = Reference.parse(reference)
    if ref is None and source.tag and not source.digest:
        ref = source.tag
    transport = Transport(url, jobs)
    transport.login(f"repository:{source.name}:pull", key=source.name)
    target = Layout(directory)
    progress = Progress()
    puller = _Puller(transport, target, source.name, progress)
    try:
        root = puller.manifest(source.target)
        fetched = {root.descriptor.digest: root}

        def load(descriptor: Descriptor) -> Manifest:
            return fetched.get(descriptor.digest) or puller.manifest(descriptor.digest, descriptor)

        manifests, blobs = walk(load, root.descriptor)
        target.prepare()
        run_all(transport, jobs, puller.blob, blobs)
        for manifest in manifests:  # children first: index.json never names a half-written image
            target.write_manifest(manifest)
        target.add_ref(root.descriptor, ref)
    except Cancelled:
        raise CliError("pull interrupted") from None
    finally:
        progress.clear()
    pulled = progress.counts.get("pulled", 0)
    progress.close(f"pulled {source} ({root.descriptor.digest}): {len(blobs)} blobs, {pulled} downloaded, "
                   f"{len(blobs) - pulled} skipped, {human(progress.moved)} in {progress.elapsed:.2f} s")
    print(f"{source.name}@{root.descriptor.digest}")
    return root.descriptor.digest
