"""Test inputs for the scanner: layers in every compression, image layer sources,
RPM databases, Go and cargo-auditable build info, jars, OSV records and an in-memory
object store. Layers come from tests/support/images.py."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import zstandard

from chalicelib.scanner import LayerSource
from tests.support.images import OCI, Image, sha256_digest, tar_layer

# ---------------------------------------------------------------- layers and images


def plain_tar(files: dict[str, bytes | None]) -> bytes:
    """The same deterministic tar as tar_layer, uncompressed."""
    return zlib.decompress(tar_layer(files), 31)


def zstd_layer(files: dict[str, bytes | None]) -> bytes:
    return zstandard.ZstdCompressor().compress(plain_tar(files))


def source(data: bytes, media_type: str = OCI.layer, digest: str | None = None) -> LayerSource:
    return LayerSource(digest or sha256_digest(data), media_type, lambda: io.BytesIO(data))


def sources(image: Image) -> list[LayerSource]:
    return [source(blob.data, blob.media_type, blob.digest) for blob in image.layers]


def raw_tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar of hand-made entries (for names tar_layer refuses to write)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


# ---------------------------------------------------------------- rpm

RPM_INT32, RPM_STRING, RPM_STRING_ARRAY = 4, 6, 8


def rpm_header(tags: dict[int, tuple[int, object]]) -> bytes:
    """An RPM header blob as rpm stores it in rpmdb.sqlite."""
    entries, store = [], bytearray()
    for tag, (kind, value) in sorted(tags.items()):
        if kind == RPM_INT32:
            store += b"\0" * (-len(store) % 4)
            values = value if isinstance(value, (list, tuple)) else [value]
            entries.append(struct.pack(">iiii", tag, kind, len(store), len(values)))
            store += struct.pack(f">{len(values)}i", *values)
        elif kind == RPM_STRING:
            entries.append(struct.pack(">iiii", tag, kind, len(store), 1))
            store += str(value).encode() + b"\0"
        else:
            entries.append(struct.pack(">iiii", tag, kind, len(store), len(value)))
            for item in value:
                store += item.encode() + b"\0"
    return struct.pack(">ii", len(entries), len(store)) + b"".join(entries) + bytes(store)


def rpm_package(name: str, version: str, release: str, *, epoch: int | None = None, arch: str = "x86_64",
                sourcerpm: str | None = None, files: tuple[str, ...] = ()) -> bytes:
    tags: dict[int, tuple[int, object]] = {
        1000: (RPM_STRING, name), 1001: (RPM_STRING, version), 1002: (RPM_STRING, release),
        1022: (RPM_STRING, arch), 1014: (RPM_STRING, "MIT"),
    }
    if epoch is not None:
        tags[1003] = (RPM_INT32, epoch)
    if sourcerpm:
        tags[1044] = (RPM_STRING, sourcerpm)
    if files:
        dirs = sorted({f.rsplit("/", 1)[0] + "/" for f in files})
        tags[1118] = (RPM_STRING_ARRAY, dirs)
        tags[1117] = (RPM_STRING_ARRAY, [f.rsplit("/", 1)[1] for f in files])
        tags[1116] = (RPM_INT32, [dirs.index(f.rsplit("/", 1)[0] + "/") for f in files])
    return rpm_header(tags)


def rpmdb_sqlite(tmp: Path, headers: list[bytes], wal: bool = True) -> bytes:
    """rpmdb.sqlite as rpm 4.16+ writes it (WAL mode, a Packages table of blobs)."""
    path = tmp / "rpmdb.sqlite"
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    connection.executemany("INSERT INTO Packages (blob) VALUES (?)", [(h,) for h in headers])
    connection.commit()
    connection.close()
    return path.read_bytes()


# ---------------------------------------------------------------- binaries

GO_SENTINEL_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
GO_SENTINEL_END = bytes.fromhex("f932433186182072008242104116d8f2")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def go_build_info(go_version: str, modinfo: str) -> bytes:
    """The `.go.buildinfo` blob of Go 1.18+: 32-byte header, then inline strings."""
    header = b"\xff Go buildinf:" + bytes([8, 2])
    header += b"\0" * (32 - len(header))
    mod = GO_SENTINEL_START + modinfo.encode() + GO_SENTINEL_END
    return header + _varint(len(go_version)) + go_version.encode() + _varint(len(mod)) + mod


def fake_elf(*blobs_at: tuple[int, bytes], size: int = 512 * 1024) -> bytes:
    """An ELF-looking file with blobs placed at given offsets in filler bytes."""
    body = bytearray(b"\x7fELF\x02\x01\x01" + b"\0" * 9)
    filler = hashlib.sha256(b"filler").digest() * (size // 32 + 1)
    body += filler[: size - len(body)]
    for offset, blob in blobs_at:
        body[offset:offset + len(blob)] = blob
    return bytes(body)


def auditable_blob(crates: list[dict]) -> bytes:
    return zlib.compress(json.dumps({"packages": crates}).encode(), 7)


# ---------------------------------------------------------------- jars


class Unseekable(io.BytesIO):
    """zipfile writes data descriptors (sizes after the data) to unseekable files."""

    def seekable(self) -> bool:
        return False

    def seek(self, *args):
        raise io.UnsupportedOperation("unseekable")

    def tell(self) -> int:
        return len(self.getvalue())


def jar(members: dict[str, bytes], *, descriptors: bool = False, stored: tuple[str, ...] = ()) -> bytes:
    out = Unseekable() if descriptors else io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def pom_properties(group: str, artifact: str, version: str) -> tuple[str, bytes]:
    return (f"META-INF/maven/{group}/{artifact}/pom.properties",
            f"#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n".encode())


# ---------------------------------------------------------------- OSV and storage


def osv(id: str, ecosystem: str, name: str, events: list[dict] | None = None, *, aliases=(), versions=None,
        severity=None, modified: str = "2024-05-01T00:00:00Z", **extra) -> dict:
    affected: dict = {"package": {"ecosystem": ecosystem, "name": name}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = list(versions)
    if "ecosystem_specific" in extra:     # belongs to the affected package, not the record
        affected["ecosystem_specific"] = extra.pop("ecosystem_specific")
    record = {"schema_version": "1.6.0", "id": id, "modified": modified, "aliases": list(aliases),
              "summary": f"{id} in {name}", "affected": [affected], **extra}
    if severity:
        record["severity"] = severity
    return record


def write_osv(directory: Path, records: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for record in records:
        (directory / f"{record['id']}.json").write_text(json.dumps(record))
    return directory


class MemoryObjects:
    """The ObjectStore calls the vulnerability DB uses, over a dict."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = bytes(data)

    def get(self, key: str) -> bytes | None:
        self.reads.append(key)
        return self.objects.get(key)

    def read_chunks(self, key: str, chunk_size: int) -> Iterator[bytes]:
        self.reads.append(key)
        data = self.objects[key]
        for start in range(0, len(data), chunk_size):
            yield data[start:start + chunk_size]
