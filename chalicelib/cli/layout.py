"""OCI image layouts on disk (image-spec image-layout.md): `oci-layout`, `index.json` with
its ref names, and `blobs/sha256/`; the manifests in them and the blobs they reference.

Files land atomically: each is written under a temporary name beside its final one and
renamed into place only once complete, so a layout never holds a half-written file.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from chalicelib.oci import INDEX_TYPES, MAX_MANIFEST_BYTES, OCI_INDEX, OCI_MANIFEST, Digest, OciError

from .api import CliError

CHUNK = 1024 * 1024
REF_NAME = "org.opencontainers.image.ref.name"


def check_digest(digest: str) -> str:
    """`digest` if it is sha256:<64 hex digits>, else a CliError."""
    # Digests become file names: anything but sha256 hex could escape the layout.
    try:
        parsed: Digest | None = Digest.parse(digest)
    except OciError:
        parsed = None
    if parsed is None or parsed.algorithm != "sha256":
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
        return cls(str(value.get("mediaType") or ""), check_digest(value.get("digest")), size)


@dataclass(frozen=True)
class Manifest:
    """One manifest's exact bytes, with what it points at."""

    descriptor: Descriptor
    raw: bytes
    children: tuple[Descriptor, ...]  # an index's manifests
    blobs: tuple[Descriptor, ...]  # an image manifest's config and layers

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


def walk(load: Callable[[Descriptor], Manifest], root: Descriptor) -> tuple[list[Manifest], list[Descriptor]]:
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


class Layout:
    """An OCI image layout directory."""

    def __init__(self, directory: Path):
        self.directory = directory

    def blob_path(self, digest: str) -> Path:
        return self.directory / "blobs" / "sha256" / check_digest(digest).split(":", 1)[1]

    # ------------------------------------------------------------ reading

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
        """The manifest that `ref` names, or without one the layout's only manifest."""
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
        if size > MAX_MANIFEST_BYTES:
            raise CliError(f"{path}: manifest is {size} bytes, more than the {MAX_MANIFEST_BYTES} bytes allowed")
        raw = path.read_bytes()
        actual = "sha256:" + hashlib.sha256(raw).hexdigest()
        if actual != descriptor.digest:
            raise CliError(f"{path}: manifest bytes hash to {actual}, not {descriptor.digest} (corrupt layout)")
        return Manifest.parse(descriptor, raw, str(path))

    def blob_file(self, descriptor: Descriptor) -> Path:
        """The path of a blob about to be read, checked to exist with the descriptor's size."""
        path = self.blob_path(descriptor.digest)
        try:
            actual_size = path.stat().st_size
        except FileNotFoundError:
            raise CliError(f"{self.directory}: blob {descriptor.digest} is missing ({path})") from None
        if actual_size != descriptor.size:
            raise CliError(f"{path}: file is {actual_size} bytes, its descriptor says {descriptor.size} "
                           f"(corrupt layout)")
        return path

    def has_blob(self, descriptor: Descriptor) -> bool:
        """Whether the layout already holds the blob, checked by size and hash."""
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

    # ------------------------------------------------------------ writing

    def prepare(self) -> None:
        (self.directory / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        marker = self.directory / "oci-layout"
        if not marker.exists():
            _write_atomic(marker, b'{"imageLayoutVersion":"1.0.0"}')

    def writing_blob(self, digest: str) -> AbstractContextManager[IO[bytes]]:
        """A context manager giving a new file that becomes the blob `digest` when the block
        exits cleanly; the caller verifies the bytes inside the block (raising removes them)."""
        return _replacing(self.blob_path(digest))

    def write_manifest(self, manifest: Manifest) -> None:
        path = self.blob_path(manifest.descriptor.digest)
        if not (path.exists() and path.read_bytes() == manifest.raw):
            _write_atomic(path, manifest.raw)

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


@contextmanager
def _replacing(path: Path) -> Iterator[IO[bytes]]:
    """A fresh temporary file next to `path`, renamed over it when the block exits cleanly
    and removed when it raises. Opened with "xb", so the umask applies (unlike mkstemp's 0600)."""
    tmp = path.with_name(f".{path.name[:16]}.{secrets.token_hex(6)}.partial")
    try:
        with open(tmp, "xb") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_atomic(path: Path, data: bytes) -> None:
    with _replacing(path) as out:
        out.write(data)
