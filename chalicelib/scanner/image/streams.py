"""Compressed layer bytes in, tar bytes out: the layer digest is checked while reading,
the compression is told by magic bytes (media types lie), and decompression stops at
the image's byte budget or an implausible ratio."""

from __future__ import annotations

import hashlib
import zlib
from typing import BinaryIO, Protocol

import zstandard

from ..errors import ScanFailed
from ..limits import Limits

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 256 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class DigestCheckingReader:
    """Passes the compressed layer through, hashing it; `finish()` reads what is left
    and fails when the bytes are not the ones the manifest names."""

    def __init__(self, raw: BinaryIO, digest: str, label: str):
        algorithm, _, self._expected = digest.partition(":")
        if algorithm not in ("sha256", "sha512") or not self._expected:
            raise ScanFailed(f"layer {label}: unsupported digest {digest!r}")
        self._raw = raw
        self._hash = hashlib.new(algorithm)
        self._label = label
        self.bytes_read = 0

    def read(self, size: int = -1, /) -> bytes:
        # Storage errors propagate as they are: they say "retry", not "bad image".
        data = self._raw.read(size)
        self._hash.update(data)
        self.bytes_read += len(data)
        return data

    def finish(self) -> None:
        while self.read(CHUNK):
            pass
        if self._hash.hexdigest() != self._expected:
            raise ScanFailed(f"layer {self._label}: content does not match its digest")


class ByteBudget:
    """Uncompressed bytes left for the whole image (shared by its layers)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.used = 0

    def spend(self, size: int, label: str) -> None:
        self.used += size
        if self.used > self.limits.max_image_bytes:
            raise ScanFailed(
                f"layer {label}: image expands to more than {self.limits.max_image_bytes} bytes "
                "uncompressed (limit)"
            )


class _GzipReader:
    """gzip members, one after another (pigz and some builders write several)."""

    def __init__(self, source: Readable, label: str):
        self._source = source
        self._label = label
        self._inflate = zlib.decompressobj(31)
        self._input = b""

    def read(self, size: int) -> bytes:
        while True:
            if self._inflate.eof:
                self._input = self._inflate.unused_data or self._source.read(CHUNK)
                if not self._input:
                    return b""
                if not self._input.startswith(GZIP_MAGIC[: len(self._input)]):
                    raise ScanFailed(f"layer {self._label}: data after the end of the gzip stream")
                self._inflate = zlib.decompressobj(31)
            if not self._input:
                self._input = self._source.read(CHUNK)
                if not self._input:
                    raise ScanFailed(f"layer {self._label}: truncated gzip stream")
            try:
                out = self._inflate.decompress(self._input, size)
            except zlib.error:
                raise ScanFailed(f"layer {self._label}: corrupt gzip stream") from None
            self._input = self._inflate.unconsumed_tail
            if out:
                return out


class _ZstdReader:
    def __init__(self, source: Readable, label: str):
        # stream_reader bounds each read's output, unlike decompressobj; frames may follow
        # one another as in gzip.
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            source, read_size=CHUNK, read_across_frames=True
        )
        self._label = label

    def read(self, size: int) -> bytes:
        try:
            return self._reader.read(size)
        except zstandard.ZstdError as error:
            text = str(error).lower()
            kind = "truncated" if "truncat" in text or "incomplete" in text else "corrupt"
            raise ScanFailed(f"layer {self._label}: {kind} zstd stream") from None


class _PlainReader:
    def __init__(self, source: Readable, label: str):
        self._source = source

    def read(self, size: int) -> bytes:
        return self._source.read(size)


class _Prefixed:
    """A source whose first bytes were already read to sniff the compression."""

    def __init__(self, head: bytes, source: Readable):
        self._head = head
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._source.read(size)


class TarStream:
    """The uncompressed tar of one layer, as a file-like object for tarfile 'r|'."""

    def __init__(self, compressed: DigestCheckingReader, budget: ByteBudget, label: str):
        head = b""
        while len(head) < len(ZSTD_MAGIC):
            piece = compressed.read(len(ZSTD_MAGIC) - len(head))
            if not piece:
                break
            head += piece
        if not head:
            raise ScanFailed(f"layer {label}: empty layer")
        reader_class = (
            _GzipReader if head.startswith(GZIP_MAGIC)
            else _ZstdReader if head.startswith(ZSTD_MAGIC)
            else _PlainReader
        )
        self.compression = {_GzipReader: "gzip", _ZstdReader: "zstd", _PlainReader: "none"}[reader_class]
        self._reader = reader_class(_Prefixed(head, compressed), label)
        self._compressed = compressed
        self._budget = budget
        self._label = label
        self.bytes_out = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._reader.read(size if size is not None and size >= 0 else CHUNK)
        if data:
            self.bytes_out += len(data)
            self._budget.spend(len(data), self._label)
            self._check_ratio()
        return data

    def _check_ratio(self) -> None:
        limits = self._budget.limits
        if (
            self.compression != "none"
            and self.bytes_out > limits.ratio_floor_bytes
            and self.bytes_out > limits.max_ratio * max(1, self._compressed.bytes_read)
        ):
            raise ScanFailed(
                f"layer {self._label}: expands more than {limits.max_ratio} times "
                "(decompression bomb?)"
            )

    def drain(self) -> None:
        """Read past the end-of-archive blocks to the end of the stream, so that the
        whole compressed layer is verified."""
        while self.read(CHUNK):
            pass
