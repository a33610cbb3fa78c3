"""The RPM header format (as rpm stores it in its database), read for the few tags a
scanner needs. Layout: entry count and data size (big-endian int32), then one 16-byte
index entry per tag (tag, type, offset, count), then the data store."""

from __future__ import annotations

import struct

NAME, VERSION, RELEASE, EPOCH, LICENSE, ARCH, SOURCERPM = 1000, 1001, 1002, 1003, 1014, 1022, 1044
DIRINDEXES, BASENAMES, DIRNAMES = 1116, 1117, 1118
_WANTED = frozenset({NAME, VERSION, RELEASE, EPOCH, LICENSE, ARCH, SOURCERPM, DIRINDEXES, BASENAMES, DIRNAMES})

_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9
# rpm itself refuses headers with more entries or data than this (header.c).
_MAX_ENTRIES = 0xFFFF
_MAX_DATA = 256 * 1024 * 1024

HeaderValue = int | str | tuple[int, ...] | tuple[str, ...]


class HeaderError(ValueError):
    pass


def parse_header(blob: bytes) -> dict[int, HeaderValue]:
    """The wanted tags of one header: strings, string arrays and int32 arrays."""
    if len(blob) < 8:
        raise HeaderError("header shorter than its preamble")
    count, data_size = struct.unpack_from(">ii", blob)
    if not (0 < count <= _MAX_ENTRIES and 0 <= data_size <= _MAX_DATA):
        raise HeaderError("implausible header sizes")
    data_start = 8 + 16 * count
    if data_start + data_size > len(blob):
        raise HeaderError("header longer than its blob")
    store = memoryview(blob)[data_start:data_start + data_size]
    values: dict[int, HeaderValue] = {}
    for tag, kind, offset, n in struct.iter_unpack(">iiii", blob[8:data_start]):
        if tag not in _WANTED or not 0 <= offset < data_size or n <= 0:
            continue
        if kind == _INT32:
            if offset + 4 * n > data_size:
                raise HeaderError(f"tag {tag} runs past the data store")
            ints = struct.unpack_from(f">{n}i", store, offset)
            values[tag] = ints[0] if tag == EPOCH else ints
        elif kind == _STRING:
            values[tag] = _strings(store, offset, 1, tag)[0]
        elif kind in (_STRING_ARRAY, _I18NSTRING):
            strings = _strings(store, offset, n, tag)
            values[tag] = strings[0] if kind == _I18NSTRING else strings
    return values


def _strings(store: memoryview, offset: int, n: int, tag: int) -> tuple[str, ...]:
    raw = bytes(store[offset:])
    parts = raw.split(b"\0", n)
    if len(parts) <= n:
        raise HeaderError(f"tag {tag}: unterminated string")
    return tuple(p.decode("utf-8", errors="replace") for p in parts[:n])
