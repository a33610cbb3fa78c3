"""`moorage push` and `moorage pull`: move an OCI image layout to and from the registry.

Blob bytes never pass through the registry's function. A push asks for a direct upload
(`POST /v2/<name>/blobs/uploads/?digest=&size=` with `Moorage-Upload: direct`), sends the
file to the pre-signed S3 URL (or URLs, one per part above 5 GB) it gets back, and commits
with `PUT <Location>?digest=`, which the registry verifies. A pull follows the 307 of blob
GET to storage. Files stream from and to disk and are hashed as they move: no blob is
ever held in memory, and nothing lands in a layout before its digest checks out.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import secrets
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from .api import CliError, _message

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
REF_NAME = "org.opencontainers.image.ref.name"

MANIFEST_MAX = 4 * 1024 * 1024  # the registry refuses bigger manifests anyway
CHUNK = 1024 * 1024
TIMEOUT = (10, 300)  # connect, read (s)
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_S3_CODE = re.compile(r"<Code>([^<]*)</Code>")
_S3_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


# ---------------------------------------------------------------- references and layouts


@dataclass(frozen=True)
class Reference:
    """NAME:TAG or NAME@DIGEST (NAME alone means NAME:latest)."""

    name: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> Reference:
        name, at, digest = text.partition("@")
        tag = None
        colon = name.rfind(":")
        if colon > name.rfind("/"):
            name, tag = name[:colon], name[colon + 1:]
        if not name or name.startswith("/") or name.endswith("/"):
            raise CliError(f"{text!r} is not a reference: use NAME:TAG or NAME@DIGEST (e.g. library/hello:1)")
        if at:
            _check_digest(digest)
        elif tag is None:
            tag = "latest"
        if tag is not None and not _TAG_RE.fullmatch(tag):
            raise CliError(f"{tag!r} is not a valid tag (letters, digits, '_', '.', '-'; at most 128)")
        return cls(name, tag, digest or None)

    @property
    def target(self) -> str:
        """What goes after /manifests/: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def _check_digest(digest: str) -> str:
    # Digests become file names: anything but sha256 hex could escape the layout.
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        raise CliError(f"unsupported or malformed digest {digest!r} (expected sha256:<64 hex digits>)")
    return digest


def split_layout(layout: str | Path) -> tuple[Path, str | None]:
    """DIR or DIR:REF (a DIR that exists as given wins, so directories may contain ':')."""
    text = str(layout)
    if Path(text).is_dir() or ":" not in text:
        return Path(text), None
    directory, _, ref = text.rpartition(":")
    if not directory or "/" in ref:
        return Path(text), None
    return Path(directory), ref or None


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    @classmethod
    def of(cls, value: object, where: str) -> Descriptor:
        if not isinstance(value, dict):
            raise CliError(f"{where}: a descriptor must be a JSON object")
        size = value.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CliError(f"{where}: descriptor {value.get('digest')} has no valid size")
        return cls(str(value.get("mediaType") or ""), _check_digest(value.get("digest")), size)


@dataclass(frozen=True)
class Manifest:
    """One manifest's exact bytes, with what it points at."""

    descriptor: Descriptor
    raw: bytes
    children: tuple[Descriptor, ...]  # an index's manifests
    blobs: tuple[Descriptor, ...]  # an image manifest's config and layers

    @property
    def is_index(self) -> bool:
        return self.descriptor.media_type in INDEX_TYPES

    @classmethod
    def parse(cls, descriptor: Descriptor, raw: bytes, where: str) -> Manifest:
        try:
            doc = json.loads(raw)
        except ValueError as error:
            raise CliError(f"{where}: manifest {descriptor.digest} is not JSON ({error})") from None
        if not isinstance(doc, dict):
            raise CliError(f"{where}: manifest {descriptor.digest} is not a JSON object")
        media_type = doc.get("mediaType") or descriptor.media_type
        if not media_type:
            media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
        descriptor = Descriptor(media_type, descriptor.digest, descriptor.size)
        if media_type in INDEX_TYPES or "manifests" in doc:
            entries = doc.get("manifests")
            if not isinstance(entries, list):
                raise CliError(f"{where}: index {descriptor.digest} has no manifests list")
            return cls(descriptor, raw, tuple(Descriptor.of(d, where) for d in entries), ())
        layers = doc.get("layers")
        if "config" not in doc or not isinstance(layers, list):
            raise CliError(f"{where}: {descriptor.digest} ({media_type}) is neither an image manifest nor an index")
        blobs = (Descriptor.of(doc["config"], where), *(Descriptor.of(d, where) for d in layers))
        return cls(descriptor, raw, (), blobs)


class Layout:
    """An OCI image layout directory (image-spec image-layout.md)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def blob_path(self, digest: str) -> Path:
        return self.directory / "blobs" / "sha256" / _check_digest(digest).split(":", 1)[1]

    def entries(self) -> list[dict]:
        path = self.directory / "index.json"
        if not path.is_file():
            raise CliError(f"{self.directory} is not an OCI image layout (no index.json)")
        try:
            index = json.loads(path.read_bytes())
        except ValueError as error:
            raise CliError(f"{path}: not JSON ({error})") from None
        entries = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(entries, list):
            raise CliError(f"{path}: no manifests list")
        return [e for e in entries if isinstance(e, dict)]

    def select(self, ref: str | None) -> Descriptor:
        entries = self.entries()
        names = [_ref_name(e) for e in entries]
        listing = ", ".join(sorted(n for n in names if n)) or "none"
        where = f"{self.directory}/index.json"
        if ref is None:
            if len(entries) == 1:
                return Descriptor.of(entries[0], where)
            raise CliError(f"{self.directory} holds {len(entries)} manifests; pick one with "
                           f"{self.directory}:REF (refs: {listing})")
        found = [e for e, n in zip(entries, names) if n == ref]
        if not found:
            raise CliError(f"{self.directory} has no ref {ref!r} (refs: {listing})")
        return Descriptor.of(found[-1], where)

    def read_manifest(self, descriptor: Descriptor) -> Manifest:
        path = self.blob_path(descriptor.digest)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise CliError(f"{self.directory}: manifest {descriptor.digest} is missing ({path})") from None
        if size > MANIFEST_MAX:
            raise CliError(f"{path}: manifest is {size} bytes, more than the {MANIFEST_MAX} bytes allowed")
        raw = path.read_bytes()
        actual = "sha256:" + hashlib.sha256(raw).hexdigest()
        if actual != descriptor.digest:
            raise CliError(f"{path}: manifest bytes hash to {actual}, not {descriptor.digest} (corrupt layout)")
        return Manifest.parse(descriptor, raw, str(path))

    def has_blob(self, descriptor: Descriptor) -> bool:
        path = self.blob_path(descriptor.digest)
        try:
            if path.stat().st_size != descriptor.size:
                return False
        except FileNotFoundError:
            return False
        hasher = hashlib.sha256()
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK):
                hasher.update(chunk)
        return "sha256:" + hasher.hexdigest() == descriptor.digest

    def prepare(self) -> None:
        (self.directory / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        marker = self.directory / "oci-layout"
        if not marker.exists():
            _write_atomic(marker, b'{"imageLayoutVersion":"1.0.0"}')

    def add_ref(self, descriptor: Descriptor, ref: str | None) -> None:
        """Point `ref` (or, without one, an unnamed entry) at `descriptor` in index.json."""
        path = self.directory / "index.json"
        entries = self.entries() if path.exists() else []
        if ref is not None:
            entries = [e for e in entries if _ref_name(e) != ref]
        else:
            entries = [e for e in entries if _ref_name(e) is not None or e.get("digest") != descriptor.digest]
        entry: dict = {"mediaType": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size}
        if ref is not None:
            entry["annotations"] = {REF_NAME: ref}
        entries.append(entry)
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        _write_atomic(path, json.dumps(doc, separators=(",", ":")).encode())


def _ref_name(entry: dict) -> str | None:
    annotations = entry.get("annotations")
    return annotations.get(REF_NAME) if isinstance(annotations, dict) else None


def _partial(path: Path) -> Path:
    """A fresh temporary name next to `path` (opened with "xb": the umask applies, unlike mkstemp's 0600)."""
    return path.with_name(f".{path.name[:16]}.{secrets.token_hex(6)}.partial")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = _partial(path)
    try:
        with open(tmp, "xb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def walk(load, root: Descriptor) -> tuple[list[Manifest], list[Descriptor]]:
    """Every manifest under `root`, children before parents (the order they must be pushed
    in), and every blob they reference, deduplicated in first-seen order."""
    manifests: dict[str, Manifest] = {}
    blobs: dict[str, Descriptor] = {}

    def visit(descriptor: Descriptor, depth: int) -> None:
        if descriptor.digest in manifests:
            return
        if depth > 8:
            raise CliError(f"manifest {descriptor.digest}: indexes nested too deep")
        manifest = load(descriptor)
        for child in manifest.children:
            visit(child, depth + 1)
        for blob in manifest.blobs:
            blobs.setdefault(blob.digest, blob)
        manifests[descriptor.digest] = manifest

    visit(root, 0)
    return list(manifests.values()), list(blobs.values())


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


# ---------------------------------------------------------------- progress


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable


def _short(digest: str) -> str:
    return digest[:19]  # sha256: and 12 hex digits, as docker shows them


class Progress:
    """Per-blob lines on stderr. On a terminal, the blobs in flight show `done/total` and are
    redrawn in place (at most ten times a second); elsewhere only finished blobs print."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream)
        self.started = time.monotonic()
        self.moved = 0  # bytes that actually travelled
        self.counts: dict[str, int] = {}
        self._active: dict[str, list[int]] = {}
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def start(self, digest: str, total: int) -> None:
        with self._lock:
            self._active[digest] = [0, total]
            self._draw(force=True)

    def advance(self, digest: str, n: int) -> None:
        with self._lock:
            self.moved += n
            if digest in self._active:
                self._active[digest][0] += n
            self._draw()

    def finish(self, digest: str, status: str, size: int) -> None:
        with self._lock:
            self._active.pop(digest, None)
            self.counts[status] = self.counts.get(status, 0) + 1
            self._draw(force=True, line=f"{_short(digest)}  {status:<9} {human(size)}")

    def clear(self) -> None:
        """Take the in-flight lines off the terminal (after a failure)."""
        with self._lock:
            if self._active:
                self._active.clear()
                self._draw(force=True)

    def close(self, summary: str | None = None) -> None:
        with self._lock:
            self._active.clear()
            self._draw(force=True, line=summary)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _draw(self, force: bool = False, line: str | None = None) -> None:
        if not self.tty:
            if line is not None:
                self.stream.write(line + "\n")
                self.stream.flush()
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        out = [f"\x1b[{self._drawn}F"] if self._drawn else []
        if line is not None:
            out.append(line + "\x1b[K\n")
        for digest, (done, total) in self._active.items():
            out.append(f"{_short(digest)}  {human(done)} / {human(total)}\x1b[K\n")
        out.append("\x1b[J")
        self._drawn = len(self._active)
        self.stream.write("".join(out))
        self.stream.flush()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------- HTTP


class _Cancelled(Exception):
    """Another transfer failed or the user interrupted: stop this one."""


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs.setdefault("blocksize", CHUNK)  # send request bodies in 1 MiB reads, not 16 KiB
        super().init_poolmanager(*args, **kwargs)


class Transport:
    """One requests Session shared by the worker threads, with a pool sized to them."""

    def __init__(self, url: str, jobs: int):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        adapter = _Adapter(pool_connections=4, pool_maxsize=max(jobs, 1) + 2)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.http.headers["User-Agent"] = "moorage-cli"
        self.stop = threading.Event()

    def absolute(self, location: str) -> str:
        return urljoin(self.url + "/", location)

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        if self.stop.is_set():
            raise _Cancelled()
        target = url if "://" in url else self.url + url
        try:
            return self.http.request(method, target, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError as error:
            if self.stop.is_set():
                raise _Cancelled() from error
            host = urlsplit(target).netloc
            if target.startswith(self.url):
                raise CliError(f"cannot reach {self.url}: is the registry running?") from error
            raise CliError(f"cannot reach storage at {host}: {_reason(error)}") from error
        except requests.Timeout as error:
            raise CliError(f"{method} {urlsplit(target).netloc}: timed out") from error
        except requests.RequestException as error:
            raise CliError(f"{method} {urlsplit(target).netloc}: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    text = str(error.args[0] if error.args else error)
    return text[:300]


def _error(response: requests.Response) -> str:
    """The registry's error body, or S3's XML error, or the status."""
    if "xml" in response.headers.get("Content-Type", "") or response.text.lstrip().startswith("<"):
        code, message = _S3_CODE.search(response.text), _S3_MESSAGE.search(response.text)
        if code:
            return f"{message.group(1) if message else 'storage error'} ({code.group(1)})"
    if not response.content:
        return f"HTTP {response.status_code}"
    message = _message(response)
    return message if message != f"HTTP {response.status_code}" else f"HTTP {response.status_code}"


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class _Reader:
    """A file (or a range of it) as a request body: read in pieces, hashed and counted on the
    way out. No tell/seek, so nothing rewinds it and hashes twice."""

    def __init__(self, source: IO[bytes], length: int, hasher, tick, stop: threading.Event):
        self._source, self._left, self._hasher, self._tick, self._stop = source, length, hasher, tick, stop
        self._length = length

    def __len__(self) -> int:
        return self._length

    def read(self, n: int = -1) -> bytes:
        if self._stop.is_set():
            raise _Cancelled()
        if n is None or n < 0 or n > self._left:
            n = self._left
        data = self._source.read(min(n, CHUNK * 8)) if n else b""
        if n and not data:
            raise CliError(f"{getattr(self._source, 'name', 'file')}: file is shorter than its descriptor says")
        self._left -= len(data)
        self._hasher.update(data)
        self._tick(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


# ---------------------------------------------------------------- push


class _Pusher:
    def __init__(self, transport: Transport, layout: Layout, name: str, progress: Progress):
        self.t, self.layout, self.name, self.progress = transport, layout, name, progress

    def blob(self, descriptor: Descriptor) -> None:
        digest, size = descriptor.digest, descriptor.size
        path = self.layout.blob_path(digest)
        try:
            actual_size = path.stat().st_size
        except FileNotFoundError:
            raise CliError(f"{self.layout.directory}: blob {digest} is missing ({path})") from None
        if actual_size != size:
            raise CliError(f"{path}: file is {actual_size} bytes, its descriptor says {size} (corrupt layout)")
        blob_url = f"/v2/{self.name}/blobs/{digest}"
        head = self.t.request("HEAD", blob_url)
        if head.status_code == 200:
            self.progress.finish(digest, "exists", size)
            return
        if head.status_code != 404:
            raise CliError(f"checking blob {digest}: {_error(head)}")
        start = self.t.request("POST", _with_query(f"/v2/{self.name}/blobs/uploads/", digest=digest, size=str(size)),
                               headers={"Moorage-Upload": "direct"}, data=b"")
        if start.status_code == 201:
            self.progress.finish(digest, "linked", size)
            return
        location = start.headers.get("Location")
        if start.status_code != 202 or not location:
            raise CliError(f"pushing blob {digest}: {_error(start)}")
        location = self.t.absolute(location)
        target = _direct_target(start)
        hasher = hashlib.sha256()
        self.progress.start(digest, size)
        try:
            if target is None:  # a registry without direct uploads: the standard monolithic PUT
                commit = self._put_through_registry(location, path, descriptor, hasher)
            else:
                self._put_to_storage(location, target, path, descriptor, hasher)
                commit = self.t.request("PUT", _with_query(location, digest=digest), data=b"")
        except BaseException:
            self._cancel(location)
            raise
        local = "sha256:" + hasher.hexdigest()
        if commit.status_code != 201:
            raise CliError(f"blob {digest} was refused: {_error(commit)}{_corrupt_hint(path, local, digest)}")
        if local != digest:  # the registry must have caught this; refuse to go on all the same
            raise CliError(f"{path}: bytes hash to {local}, not {digest} (corrupt layout)")
        self.progress.finish(digest, "pushed", size)

    def _put_to_storage(self, location: str, target: dict, path: Path, descriptor: Descriptor, hasher) -> None:
        tick = lambda n: self.progress.advance(descriptor.digest, n)  # noqa: E731
        with open(path, "rb") as source:
            if target.get("url"):
                body = _Reader(source, descriptor.size, hasher, tick, self.t.stop) if descriptor.size else b""
                response = self.t.request("PUT", target["url"], data=body, headers=dict(target.get("headers") or {}))
                self._storage_ok(response, path, descriptor, hasher, source)
                return
            urls = list(target.get("parts") or [])
            for number, _offset, length in part_ranges(descriptor.size, int(target.get("part_size") or 0), len(urls)):
                body = _Reader(source, length, hasher, tick, self.t.stop) if length else b""
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
        raise CliError(f"storage refused {what} {descriptor.digest}: {_error(response)}"
                       f"{_corrupt_hint(path, local, descriptor.digest)}")

    def _put_through_registry(self, location, path, descriptor, hasher) -> requests.Response:
        tick = lambda n: self.progress.advance(descriptor.digest, n)  # noqa: E731
        with open(path, "rb") as source:
            body = _Reader(source, descriptor.size, hasher, tick, self.t.stop) if descriptor.size else b""
            return self.t.request("PUT", _with_query(location, digest=descriptor.digest), data=body,
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
                           f"{_error(response)}")
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


def _run_all(transport: Transport, jobs: int, work, items) -> None:
    """Run work(item) for every item on `jobs` threads; on the first failure stop the rest
    and raise it."""
    if not items:
        return
    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="moorage-transfer") as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f.done() and not f.cancelled() and f.exception()]
            if failed:
                transport.stop.set()
                for future in futures:
                    future.cancel()
                errors = [f.exception() for f in failed]
                raise next((e for e in errors if not isinstance(e, _Cancelled)), errors[0])
        except BaseException:
            transport.stop.set()
            for future in futures:
                future.cancel()
            raise


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
    progress = Progress()
    pusher = _Pusher(transport, source, target.name, progress)
    try:
        _run_all(transport, jobs, pusher.blob, blobs)
        for manifest in manifests[:-1]:
            pusher.manifest(manifest, manifest.descriptor.digest)
        pusher.manifest(top, target.tag or root.digest)
    except _Cancelled:
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
                raise CliError(f"{_display(self.name, reference)}: {_error(response)}")
            raw = response.raw.read(MANIFEST_MAX + 1, decode_content=True)
        finally:
            response.close()
        if len(raw) > MANIFEST_MAX:
            raise CliError(f"{_display(self.name, reference)}: manifest is bigger than {MANIFEST_MAX} bytes")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        claimed = expected.digest if expected else response.headers.get("Docker-Content-Digest")
        if DIGEST_RE.fullmatch(reference):
            claimed = reference
        if claimed and claimed != digest:
            raise CliError(f"{_display(self.name, reference)}: the registry sent a manifest hashing to {digest}, "
                           f"not {claimed}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in INDEX_TYPES | MANIFEST_TYPES:
            media_type = expected.media_type if expected else ""
        return Manifest.parse(Descriptor(media_type, digest, len(raw)), raw, f"{self.name}@{digest}")

    def blob(self, descriptor: Descriptor) -> None:
        digest, size = descriptor.digest, descriptor.size
        final = self.layout.blob_path(digest)
        if self.layout.has_blob(descriptor):
            self.progress.finish(digest, "present", size)
            return
        response = self.t.request("GET", f"/v2/{self.name}/blobs/{digest}", stream=True,
                                  headers={"Accept-Encoding": "identity"})
        try:
            if response.status_code != 200:
                response.content  # noqa: B018
                raise CliError(f"pulling blob {digest}: {_error(response)}")
            self.progress.start(digest, size)
            hasher = hashlib.sha256()
            got = 0
            tmp = _partial(final)
            try:
                with open(tmp, "xb") as out:
                    for chunk in response.raw.stream(CHUNK, decode_content=False):
                        if self.t.stop.is_set():
                            raise _Cancelled()
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
                os.replace(tmp, final)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except requests.RequestException as error:
            raise CliError(f"pulling blob {digest}: {_reason(error)}") from error
        finally:
            response.close()
        self.progress.finish(digest, "pulled", size)


def _display(name: str, reference: str) -> str:
    return f"{name}@{reference}" if DIGEST_RE.fullmatch(reference) else f"{name}:{reference}"


def pull(url: str, reference: str, layout: str | Path, jobs: int = 4) -> str:
    """Pull `reference` (NAME:TAG or NAME@DIGEST) into the OCI layout `layout` (DIR or DIR:REF;
    the ref name defaults to the tag). Returns the manifest digest."""
    directory, ref = split_layout(layout)
    source = Reference.parse(reference)
    if ref is None and source.tag and not source.digest:
        ref = source.tag
    transport = Transport(url, jobs)
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
        _run_all(transport, jobs, puller.blob, blobs)
        for manifest in manifests:  # children first: index.json never names a half-written image
            path = target.blob_path(manifest.descriptor.digest)
            if not (path.exists() and path.read_bytes() == manifest.raw):
                _write_atomic(path, manifest.raw)
        target.add_ref(root.descriptor, ref)
    except _Cancelled:
        raise CliError("pull interrupted") from None
    finally:
        progress.clear()
    pulled = progress.counts.get("pulled", 0)
    progress.close(f"pulled {source} ({root.descriptor.digest}): {len(blobs)} blobs, {pulled} downloaded, "
                   f"{len(blobs) - pulled} skipped, {human(progress.moved)} in {progress.elapsed:.2f} s")
    print(f"{source.name}@{root.descriptor.digest}")
    return root.descriptor.digest
