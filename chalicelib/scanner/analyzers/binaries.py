"""Build information embedded in executables, found while the file streams by.

Go (1.18+) writes a `\\xff Go buildinf:` header followed by the Go version and the
module list as length-prefixed strings. cargo-auditable puts a zlib-compressed JSON
list of crates in a `.dep-v0` section; finding the section properly needs the section
table at the end of the file, so instead each zlib header is tried and the one that
inflates to `{"packages"` wins (a few hundred cheap tries per 10 MB)."""

from __future__ import annotations

import json
import re
import zlib

from .base import FileFindings, FoundPackage
from .cargo import crates

EXECUTABLE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
GO_MAGIC = b"\xff Go buildinf:"
# The header is 32 bytes; then two varint-prefixed strings (version, module info).
_GO_HEADER = 32
_GO_FLAG_BIG_ENDIAN, _GO_FLAG_INLINE = 1, 2
# Module info is wrapped in 16-byte sentinels (cmd/go/internal/modload/build.go).
_GO_SENTINEL_LENGTH = 16
_MAX_BUILD_INFO = 4 * 1024 * 1024
_ZLIB_HEADER_RE = re.compile(rb"\x78[\x01\x5e\x9c\xda]")
_AUDITABLE_PREFIX = b'{"packages"'
_PROBE = 64


def is_executable(head: bytes) -> bool:
    return head.startswith(EXECUTABLE_MAGICS)


class BinaryScan:
    """Feed an executable in order, chunk by chunk; then ask for what it declared."""

    def __init__(self) -> None:
        self._offset = 0
        self._go_tail = b""
        self._go_info: bytearray | None = None
        self._zlib_tail = b""
        self._inflate: zlib._Decompress | None = None
        self._auditable = bytearray()
        self._auditable_done = False

    def feed(self, chunk: bytes) -> None:
        self._feed_go(chunk)
        self._feed_auditable(chunk)

    # -- Go

    def _feed_go(self, chunk: bytes) -> None:
        if self._go_info is not None:
            if len(self._go_info) < _MAX_BUILD_INFO:
                self._go_info += chunk[: _MAX_BUILD_INFO - len(self._go_info)]
            return
        # Only the seam between chunks is copied; the chunk itself is searched in place.
        seam = self._go_tail + chunk[: len(GO_MAGIC) - 1]
        at = seam.find(GO_MAGIC)
        if at >= 0:
            self._go_info = bytearray(seam[at:] + chunk[len(GO_MAGIC) - 1:_MAX_BUILD_INFO])
            return
        at = chunk.find(GO_MAGIC)
        if at >= 0:
            self._go_info = bytearray(chunk[at:at + _MAX_BUILD_INFO])
        else:
            self._go_tail = chunk[-(len(GO_MAGIC) - 1):]

    def _go_packages(self) -> tuple[list[FoundPackage], list[str]]:
        if self._go_info is None:
            return [], []
        return parse_go_build_info(bytes(self._go_info))

    # -- cargo-auditable

    def _feed_auditable(self, chunk: bytes) -> None:
        if self._auditable_done:
            return
        if self._inflate is not None:
            self._inflate_more(chunk)
            return
        # Candidates that started in the previous chunk's last bytes get their probe now.
        seam = self._zlib_tail + chunk[:_PROBE]
        for match in _ZLIB_HEADER_RE.finditer(seam, 0, len(self._zlib_tail)):
            if _inflates_to_auditable(seam[match.start():]):
                self._start_inflating(seam[match.start():len(self._zlib_tail)] + chunk)
                return
        last = max(0, len(chunk) - _PROBE)
        for match in _ZLIB_HEADER_RE.finditer(chunk, 0, last):
            start = match.start()
            if _inflates_to_auditable(chunk[start:start + _PROBE]):
                self._start_inflating(chunk[start:])
                return
        self._zlib_tail = chunk[last:]

    def _start_inflating(self, data: bytes) -> None:
        self._inflate = zlib.decompressobj()
        self._inflate_more(data)

    def _inflate_more(self, data: bytes) -> None:
        try:
            self._auditable += self._inflate.decompress(data, _MAX_BUILD_INFO - len(self._auditable))
        except zlib.error:
            self._auditable_done = True
            return
        if self._inflate.eof or len(self._auditable) >= _MAX_BUILD_INFO:
            self._auditable_done = True

    def finish(self) -> FileFindings:
        if self._inflate is None and not self._auditable_done:
            # The last bytes were never probed with a full window.
            for match in _ZLIB_HEADER_RE.finditer(self._zlib_tail):
                if _inflates_to_auditable(self._zlib_tail[match.start():]):
                    self._start_inflating(self._zlib_tail[match.start():])
                    break
        packages, warnings = self._go_packages()
        if self._auditable:
            try:
                document = json.loads(bytes(self._auditable))
                packages += crates(document.get("packages") if isinstance(document, dict) else None)
            except ValueError:
                warnings.append("cargo-auditable data is not valid JSON")
        return FileFindings(packages=tuple(packages), warnings=tuple(warnings))


def _inflates_to_auditable(probe: bytes) -> bool:
    try:
        return zlib.decompressobj().decompress(probe, len(_AUDITABLE_PREFIX)).startswith(_AUDITABLE_PREFIX)
    except zlib.error:
        return False


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data) and shift < 64:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
    raise ValueError("bad varint")


def parse_go_build_info(data: bytes) -> tuple[list[FoundPackage], list[str]]:
    """Packages from a buildinfo blob starting at the magic: the standard library at
    the Go version, the main module (unless a development build) and its deps."""
    if len(data) < _GO_HEADER:
        return [], ["Go build info truncated"]
    flags = data[len(GO_MAGIC) + 1]
    if not flags & _GO_FLAG_INLINE:
        return [], ["Go binary built before Go 1.18: its module list is not read"]
    try:
        length, at = _varint(data, _GO_HEADER)
        version = data[at:at + length].decode("utf-8", "replace")
        length, at = _varint(data, at + length)
        modinfo = data[at:at + length]
    except ValueError:
        return [], ["Go build info unreadable"]
    if len(modinfo) >= 2 * _GO_SENTINEL_LENGTH:
        modinfo = modinfo[_GO_SENTINEL_LENGTH:-_GO_SENTINEL_LENGTH]
    packages = []
    if version.startswith("go"):
        # "go1.22.1" or "go1.22.1 X:boringcrypto"; the Go ecosystem names it "stdlib".
        packages.append(FoundPackage(type="golang", name="stdlib", version=version[2:].split()[0]))
    packages.extend(_go_modules(modinfo.decode("utf-8", "replace")))
    return packages, []


def _go_modules(modinfo: str) -> list[FoundPackage]:
    modules: list[FoundPackage] = []
    for line in modinfo.splitlines():
        fields = line.split("\t")
        if fields[0] in ("mod", "dep") and len(fields) >= 3:
            if fields[2] and fields[2] != "(devel)":
                modules.append(FoundPackage(type="golang", name=fields[1], version=fields[2].removeprefix("v")))
        elif fields[0] == "=>" and len(fields) >= 3 and modules:
            # A replace directive: the line before is what was replaced. Local
            # replacements (a path, no version) are not a module version anyone publishes.
            modules.pop()
            if fields[2]:
                modules.append(FoundPackage(type="golang", name=fields[1], version=fields[2].removeprefix("v")))
    return modules
