"""Zip archives (jar, war, ear) read front to back from a stream, by their local file
headers, without the central directory at the end: a jar inside a tar layer cannot
be seeked, and buffering a 100 MB fat jar is what we must not do.

Entries written with a data descriptor (sizes after the data, as `jar` writes them)
are inflated to find their end. A stored entry with a data descriptor has no
findable end and stops the walk."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_STORED, _DEFLATED = 0, 8
_FLAG_DESCRIPTOR = 0x08
_ZIP64_EXTRA = 0x0001
_CHUNK = 256 * 1024


class ZipError(ValueError):
    pass


class ZipBomb(ZipError):
    """Not a damaged archive but a hostile one: the scan fails on it."""


class ZipBudget:
    """Inflated bytes an archive (with all it nests) may produce."""

    def __init__(self, limit: int):
        self.left = limit

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ZipBomb("archive expands beyond its limit (zip bomb?)")


class _Source:
    """A forward-only reader with push-back, over a callable read(n)."""

    def __init__(self, read: Callable[[int], bytes]):
        self._read = read
        self._pushed = b""

    def read(self, n: int) -> bytes:
        if self._pushed:
            data, self._pushed = self._pushed[:n], self._pushed[n:]
            return data
        data = self._read(n)
        if len(data) > n:   # a reader that returns more than asked
            data, self._pushed = data[:n], data[n:]
        return data

    def unread(self, data: bytes) -> None:
        self._pushed = data + self._pushed

    def read_exact(self, n: int) -> bytes:
        parts, left = [], n
        while left:
            data = self.read(min(left, _CHUNK))
            if not data:
                raise ZipError("truncated archive")
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    def skip(self, n: int) -> None:
        while n:
            data = self.read(min(n, _CHUNK))
            if not data:
                raise ZipError("truncated archive")
            n -= len(data)


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    compressed_size: int | None     # None: given by a data descriptor after the data
    zip64: bool


class Member:
    """The content of the current entry; must be read or skipped before the next one."""

    def __init__(self, source: _Source, entry: ZipEntry, budget: ZipBudget):
        self._source, self._entry, self._budget = source, entry, budget
        self._left = entry.compressed_size
        self._inflate = zlib.decompressobj(-15) if entry.method == _DEFLATED else None
        self._pending = b""
        self.done = False

    def _raw(self, n: int) -> bytes:
        if self._left is None:
            return self._source.read(n)
        data = self._source.read(min(n, self._left)) if self._left else b""
        self._left -= len(data)
        return data

    def read(self, n: int = _CHUNK) -> bytes:
        """Up to n uncompressed bytes; b"" at the end of the entry."""
        if self.done:
            return b""
        if self._inflate is None:
            data = self._raw(n)
            if not data:
                if self._left:
                    raise ZipError("truncated archive")
                self.done = True
            self._budget.spend(len(data))
            return data
        while not self._inflate.eof:
            if not self._pending:
                self._pending = self._raw(_CHUNK)
                if not self._pending:
                    raise ZipError("truncated deflate data")
            try:
                out = self._inflate.decompress(self._pending, n)
            except zlib.error:
                raise ZipError("corrupt deflate data") from None
            self._pending = self._inflate.unconsumed_tail
            if self._inflate.eof:
                self._finish_deflate()
            self._budget.spend(len(out))
            if out:
                return out
        self.done = True
        return b""

    def _finish_deflate(self) -> None:
        if self._left is None:
            # Sizes come after the data: what follows the deflate stream is the
            # descriptor and the next entry.
            self._source.unread(self._inflate.unused_data + self._pending)
        elif self._left:
            self._source.skip(self._left)
            self._left = 0
        self._pending = b""

    def read_all(self, limit: int) -> bytes | None:
        """The whole content, or None (and the entry skipped) past `limit` bytes."""
        parts, size = [], 0
        while data := self.read(_CHUNK):
            size += len(data)
            if size > limit:
                self.skip()
                return None
            parts.append(data)
        return b"".join(parts)

    def skip(self) -> None:
        if self.done:
            return
        if self._left is not None:
            # The size is known: no need to inflate what nobody reads.
            self._pending = b""
            self._source.skip(self._left)
            self._left = 0
            self.done = True
            return
        while self.read(_CHUNK):
            pass


def walk_zip(read: Callable[[int], bytes], budget: ZipBudget, max_entries: int) -> Iterator[tuple[ZipEntry, Member]]:
    """(entry, member) for each file entry, in archive order."""
    source = _Source(read)
    for _ in range(max_entries + 1):
        signature = source.read(4)
        if len(signature) < 4:
            signature += source.read(4 - len(signature))
        if signature != _LOCAL:
            return  # central directory (or anything else): no more local entries
        source.unread(signature)
        header = _LOCAL_HEADER.unpack(source.read_exact(_LOCAL_HEADER.size))
        _, _, flags, method, _, _, _, compressed, _, name_length, extra_length = header
        name = source.read_exact(name_length).decode("utf-8", "replace")
        extra = source.read_exact(extra_length)
        zip64 = _has_zip64(extra)
        if zip64 and compressed == 0xFFFFFFFF:
            compressed = _zip64_compressed_size(extra)
        if method not in (_STORED, _DEFLATED):
            raise ZipError(f"unsupported compression method {method} ({name[:100]})")
        with_descriptor = bool(flags & _FLAG_DESCRIPTOR)
        if with_descriptor and method == _STORED and compressed == 0:
            raise ZipError("stored entry with a data descriptor: cannot find its end")
        entry = ZipEntry(name, method, None if with_descriptor and method == _DEFLATED else compressed, zip64)
        member = Member(source, entry, budget)
        yield entry, member
        member.skip()
        if with_descriptor:
            _skip_descriptor(source, zip64)
    raise ZipError(f"archive has more than {max_entries} entries")


def _extra_fields(extra: bytes) -> Iterator[tuple[int, bytes]]:
    at = 0
    while at + 4 <= len(extra):
        field_id, size = struct.unpack_from("<HH", extra, at)
        yield field_id, extra[at + 4:at + 4 + size]
        at += 4 + size


def _has_zip64(extra: bytes) -> bool:
    return any(field_id == _ZIP64_EXTRA for field_id, _ in _extra_fields(extra))


def _zip64_compressed_size(extra: bytes) -> int:
    for field_id, data in _extra_fields(extra):
        if field_id == _ZIP64_EXTRA and len(data) >= 16:
            return struct.unpack_from("<Q", data, 8)[0]
    raise ZipError("zip64 entry without its sizes")


def _skip_descriptor(source: _Source, zip64: bool) -> None:
    head = source.read_exact(4)
    if head != _DESCRIPTOR:
        source.unread(head)  # the signature is optional
    source.skip(20 if zip64 else 12)
