"""Reading an image's layers once, in order, into what resolve.py turns into an
inventory: analyzer results per (path, layer), secrets per (path, layer), os-release
candidates, and the overlay of every path."""

from __future__ import annotations

import tarfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import BinaryIO

from .analyzers import osrelease
from .analyzers.apk import ApkAnalyzer
from .analyzers.base import FileFindings, MetadataAnalyzer
from .analyzers.binaries import BinaryScan, is_executable
from .analyzers.cargo import CargoLockAnalyzer
from .analyzers.dotnet import DotnetAnalyzer
from .analyzers.dpkg import DpkgAnalyzer
from .analyzers.java import JavaAnalyzer
from .analyzers.node import NodeAnalyzer
from .analyzers.php import PhpAnalyzer
from .analyzers.python import PythonAnalyzer
from .analyzers.rpm import UNSUPPORTED_DATABASES, RpmAnalyzer
from .analyzers.ruby import RubyAnalyzer
from .analyzers.zipstream import ZipBomb
from .errors import ScanFailed
from .image.entries import WHITEOUT_PREFIX, Entry, read_entries
from .image.overlay import LayerPaths, Overlay, path_key
from .image.streams import ByteBudget, DigestCheckingReader, TarStream
from .limits import Limits
from .secrets.detect import SecretMatch, find_secrets
from .secrets.detect import wants as wants_secrets

METADATA_ANALYZERS: tuple[MetadataAnalyzer, ...] = (
    DpkgAnalyzer(), ApkAnalyzer(), RpmAnalyzer(), PythonAnalyzer(), NodeAnalyzer(), RubyAnalyzer(),
    PhpAnalyzer(), CargoLockAnalyzer(), DotnetAnalyzer(),
)
ARCHIVES = JavaAnalyzer()
_HEAD = 64 * 1024
_CHUNK = 256 * 1024
_MAX_WARNINGS = 100


@dataclass(frozen=True)
class LayerSource:
    """One layer as the manifest names it; `open` returns a stream of its compressed
    bytes (an S3 streaming body in production), read once from start to end."""

    digest: str
    media_type: str
    open: Callable[[], BinaryIO]


@dataclass(frozen=True)
class RecordedFile:
    layer: int
    findings: FileFindings
    owned: array          # path keys of owned_paths (8 bytes each, not the strings)


@dataclass(frozen=True)
class OsReleaseCandidate:
    layer: int
    data: bytes | None     # file content, or None for a symlink
    target: str = ""


@dataclass(frozen=True)
class FoundSecret:
    layer: int
    path: str
    match: SecretMatch


class ImageReading:
    """Mutable state while the layers stream by; read by resolve.py afterwards."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.budget = ByteBudget(limits)
        self.overlay = Overlay()
        self.layers: list[str] = []
        self.files: dict[str, list[RecordedFile]] = {}
        self.os_release: dict[str, list[OsReleaseCandidate]] = {}
        self.secrets: list[FoundSecret] = []
        self.warnings: list[str] = []
        self.entries = 0

    def warn(self, text: str) -> None:
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(text)

    # -- layers

    def read_layer(self, source: LayerSource) -> None:
        index, label = len(self.layers), _short(source.digest)
        if ".tar" not in source.media_type and "rootfs.diff" not in source.media_type:
            raise ScanFailed(f"layer {label}: media type {source.media_type!r} is not a filesystem layer")
        self.layers.append(source.digest)
        paths = LayerPaths()
        raw = source.open()
        try:
            compressed = DigestCheckingReader(raw, source.digest, label)
            stream = TarStream(compressed, self.budget, label)
            for entry, reader in read_entries(stream, label, self.limits):
                self._count_entry(label)
                if entry.path:
                    paths.add(entry.path, entry.kind == "dir")
                    self._read_entry(index, label, entry, reader)
            stream.drain()
            compressed.finish()
        except (tarfile.ReadError, EOFError) as error:
            raise ScanFailed(f"layer {label}: corrupt tar ({error})") from None
        finally:
            close = getattr(raw, "close", None)
            if close:
                close()
        self.overlay.push(paths)

    def _count_entry(self, label: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise ScanFailed(f"layer {label}: image has more than {self.limits.max_entries} files (limit)")

    def _read_entry(self, index: int, label: str, entry: Entry, reader: BinaryIO | None) -> None:
        path = entry.path
        if path.rpartition("/")[2].startswith(WHITEOUT_PREFIX):
            return
        if osrelease.is_candidate(path):
            if entry.kind == "symlink":
                self.os_release.setdefault(path, []).append(OsReleaseCandidate(index, None, entry.linkname))
            elif reader is not None and entry.size <= osrelease.max_bytes():
                self.os_release.setdefault(path, []).append(OsReleaseCandidate(index, reader.read()))
            return
        if reader is None:
            return
        if path in UNSUPPORTED_DATABASES:
            self.warn(f"{path}: {UNSUPPORTED_DATABASES[path]}")
            return
        analyzer = next((a for a in METADATA_ANALYZERS if a.matches(path)), None)
        if analyzer is not None:
            self._read_metadata(index, label, entry, reader, analyzer)
        elif ARCHIVES.matches(path):
            findings = _guarded(label, path, ARCHIVES.name,
                                lambda: ARCHIVES.analyze(path, reader.read, entry.size, self.limits))
            self._record(index, path, findings)
        else:
            self._read_other(index, label, entry, reader)

    def _read_metadata(self, index: int, label: str, entry: Entry, reader: BinaryIO,
                       analyzer: MetadataAnalyzer) -> None:
        limit = analyzer.max_bytes(self.limits)
        if entry.size > limit:
            raise ScanFailed(
                f"layer {label}: {entry.path} is {entry.size} bytes, over the {limit}-byte limit "
                f"for {analyzer.name} metadata"
            )
        data = reader.read()
        findings = _guarded(label, entry.path, analyzer.name, lambda: analyzer.parse(entry.path, data))
        # Package-manager records are not searched for secrets: their READMEs are full
        # of example tokens.
        self._record(index, entry.path, findings)

    def _read_other(self, index: int, label: str, entry: Entry, reader: BinaryIO) -> None:
        head = reader.read(_HEAD)
        if is_executable(head) and entry.size <= self.limits.max_binary_bytes:
            findings = _guarded(label, entry.path, "executable", lambda: _scan_binary(head, reader))
            self._record(index, entry.path, findings)
        elif entry.size <= self.limits.max_secret_file_bytes and wants_secrets(entry.path):
            self._search_secrets(index, entry, head + reader.read() if len(head) == _HEAD else head)

    def _search_secrets(self, index: int, entry: Entry, data: bytes) -> None:
        if len(data) > self.limits.max_secret_file_bytes or not wants_secrets(entry.path):
            return
        for match in find_secrets(entry.path, data):
            if len(self.secrets) >= self.limits.max_secrets:
                self.warn(f"more than {self.limits.max_secrets} secrets: the rest are not listed")
                return
            self.secrets.append(FoundSecret(index, entry.path, match))

    def _record(self, index: int, path: str, findings: FileFindings) -> None:
        for warning in findings.warnings:
            self.warn(warning)
        if findings.packages or findings.owned_paths:
            owned = array("Q", (path_key(p) for p in findings.owned_paths))
            kept = replace(findings, owned_paths=(), warnings=())   # the strings are not kept
            self.files.setdefault(path, []).append(RecordedFile(index, kept, owned))


def _scan_binary(head: bytes, reader: BinaryIO) -> FileFindings:
    scan = BinaryScan()
    chunk = head
    while chunk:
        scan.feed(chunk)
        chunk = reader.read(_CHUNK)
    return scan.finish()


def _guarded(label: str, path: str, what: str, analyze: Callable[[], FileFindings]) -> FileFindings:
    """Run one analyzer: a parser tripping over hostile bytes costs a warning, not the
    scan; a damaged layer (tar errors) or a bomb still ends it."""
    try:
        return analyze()
    except (ScanFailed, tarfile.ReadError, EOFError):
        raise
    except ZipBomb as error:
        raise ScanFailed(f"layer {label}: {path}: {error}") from None
    except Exception as error:  # noqa: BLE001 - see the docstring
        return FileFindings(warnings=(f"{path}: unreadable {what} ({error.__class__.__name__})",))


def _short(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm}:{encoded[:12]}" if encoded else digest[:40]
