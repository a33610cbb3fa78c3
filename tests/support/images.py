"""Deterministic OCI images for tests and benchmarks (standard library only).

Layers are tar+gzip archives with fixed order, times and owners, so the same input
always gives the same bytes and the same digests (compare Quay's
`layer_bytes_for_contents`). Images and indexes are built from them with natural
JSON key order (the order of the Go structs in image-spec), serialized compactly
as Go's `json.Marshal` does, and can be written as an OCI image layout that skopeo
and oras read::

    layer = tar_layer({"etc/hello.txt": b"hi\\n", "etc/old.txt": None})
    image = build_image([layer, random_layer(1 << 20)])
    write_oci_layout(tmp_path / "layout", {"1": image})
    # skopeo copy oci:LAYOUT:1 docker://127.0.0.1:5000/library/hello:1
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Literal

__all__ = [
    "Blob",
    "Image",
    "Index",
    "MediaTypes",
    "OCI",
    "DOCKER",
    "EMPTY_JSON",
    "EMPTY_JSON_MEDIA_TYPE",
    "REF_NAME_ANNOTATION",
    "build_image",
    "build_index",
    "diff_id",
    "random_layer",
    "read_blob",
    "read_dir_layout",
    "read_oci_layout",
    "sha256_digest",
    "tar_layer",
    "write_dir_layout",
    "write_oci_layout",
]

Flavor = Literal["oci", "docker"]


@dataclass(frozen=True)
class MediaTypes:
    """The media types one manifest flavor uses."""

    manifest: str
    index: str
    config: str
    layer: str


OCI = MediaTypes(
    manifest="application/vnd.oci.image.manifest.v1+json",
    index="application/vnd.oci.image.index.v1+json",
    config="application/vnd.oci.image.config.v1+json",
    layer="application/vnd.oci.image.layer.v1.tar+gzip",
)
DOCKER = MediaTypes(
    manifest="application/vnd.docker.distribution.manifest.v2+json",
    index="application/vnd.docker.distribution.manifest.list.v2+json",
    config="application/vnd.docker.container.image.v1+json",
    layer="application/vnd.docker.image.rootfs.diff.tar.gzip",
)
_FLAVORS: dict[str, MediaTypes] = {"oci": OCI, "docker": DOCKER}

# image-spec v1.1 "empty descriptor": the config of artifacts that have none.
EMPTY_JSON_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"

REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
_EPOCH = "1970-01-01T00:00:00Z"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _dumps(value: Any) -> bytes:
    """Compact JSON in insertion order, as Go's json.Marshal writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------- blobs and images


@dataclass(frozen=True)
class Blob:
    """Content-addressed bytes with their media type (a descriptor plus its data)."""

    media_type: str
    data: bytes = field(repr=False, compare=False)
    digest: str
    size: int

    def __post_init__(self) -> None:
        if self.size != len(self.data):
            raise ValueError(f"size {self.size} != len(data) {len(self.data)}")

    @classmethod
    def of(cls, media_type: str, data: bytes) -> Blob:
        return cls(media_type, data, sha256_digest(data), len(data))

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        """The OCI descriptor; `extra` keys (annotations, platform, …) follow in order."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass(frozen=True)
class Image:
    """One image (or artifact) manifest with its config and layers."""

    manifest: Blob
    config: Blob
    layers: tuple[Blob, ...]
    platform: tuple[str, str] = ("linux", "amd64")

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def media_type(self) -> str:
        return self.manifest.media_type

    def blobs(self) -> tuple[Blob, ...]:
        """Config and layers: what must be uploaded before the manifest."""
        return (self.config, *self.layers)

    def all_blobs(self) -> tuple[Blob, ...]:
        """Every blob including the manifest itself."""
        return (*self.blobs(), self.manifest)


@dataclass(frozen=True)
class Index:
    """An image index (or Docker manifest list) with its child images."""

    manifest: Blob
    images: tuple[Image, ...]

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def media_type(self) -> str:
        return self.manifest.media_type

    def blobs(self) -> tuple[Blob, ...]:
        """Every child's blobs and manifest (deduplicated), without the index itself."""
        seen: dict[str, Blob] = {}
        for image in self.images:
            for blob in image.all_blobs():
                seen.setdefault(blob.digest, blob)
        return tuple(seen.values())

    def all_blobs(self) -> tuple[Blob, ...]:
        return (*self.blobs(), self.manifest)


# ---------------------------------------------------------------- layers


class _GzipSink:
    """A write-only file that gzips what it receives and hashes it uncompressed."""

    def __init__(self, level: int) -> None:
        # wbits=31: gzip container; zlib writes mtime 0 and no file name.
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._parts: list[bytes] = []
        self.diff_id = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.diff_id.update(data)
        out = self._compressor.compress(data)
        if out:
            self._parts.append(out)
        return len(data)

    def finish(self) -> bytes:
        self._parts.append(self._compressor.flush())
        return b"".join(self._parts)


class _RandomReader:
    """Reads `size` bytes of random.Random(seed).randbytes, in any chunking.

    randbytes(n) is getrandbits(8n) in little-endian order, so pieces whose
    lengths are multiples of 4 concatenate to exactly randbytes(size).
    """

    def __init__(self, size: int, seed: int) -> None:
        self._rng = random.Random(seed)
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        self._left -= n
        return self._rng.randbytes(n)


def _tarinfo(name: str, *, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.size = 0 if directory else size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _clean_path(path: str) -> PurePosixPath:
    parts = [p for p in PurePosixPath(path.lstrip("/")).parts if p != "."]
    if not parts or ".." in parts:
        raise ValueError(f"bad layer path {path!r}")
    return PurePosixPath(*parts)


def _write_tar_gz(entries: Iterable[tuple[tarfile.TarInfo, Any]], level: int) -> tuple[bytes, str]:
    """Tar as Go's archive/tar writes it (PAX headers when needed, two zero blocks
    at the end, no padding to 10 KiB records), gzip'ed; returns (bytes, diff_id)."""
    sink = _GzipSink(level)
    for info, fileobj in entries:
        sink.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        left = info.size
        while left:
            chunk = fileobj.read(min(left, _CHUNK))
            if not chunk:
                raise ValueError(f"{info.name}: short read")
            sink.write(chunk)
            left -= len(chunk)
        if info.size % tarfile.BLOCKSIZE:
            sink.write(tarfile.NUL * (tarfile.BLOCKSIZE - info.size % tarfile.BLOCKSIZE))
    sink.write(tarfile.NUL * (2 * tarfile.BLOCKSIZE))
    return sink.finish(), "sha256:" + sink.diff_id.hexdigest()


def tar_layer(files: dict[str, bytes | None], *, gzip_level: int = 6) -> bytes:
    """A deterministic tar+gzip layer.

    Keys are paths inside the layer ("etc/hello.txt"); a key ending in "/" is an
    empty directory. A value of None is a whiteout: "a/b" becomes "a/.wh.b". Pass
    "dir/.wh..wh..opq" with b"" for an opaque directory. Entries are sorted by
    path, parents are added as 0o755 directories, files are 0o644, owner 0:0
    with empty names, mtime 0; the gzip header has mtime 0 and no file name.
    """
    dirs: set[str] = set()
    regular: dict[str, bytes] = {}
    for key, value in files.items():
        path = _clean_path(key)
        if key.endswith("/"):
            if value:
                raise ValueError(f"directory {key!r} cannot have content")
            dirs.add(str(path))
        elif value is None:
            regular[str(path.parent / f".wh.{path.name}")] = b""
        else:
            regular[str(path)] = bytes(value)
        dirs.update(str(p) for p in path.parents if str(p) != ".")
    clash = dirs & regular.keys()
    if clash:
        raise ValueError(f"paths are both files and directories: {sorted(clash)}")
    names = sorted(dirs | regular.keys())
    entries = (
        (_tarinfo(n, directory=True), None)
        if n in dirs
        else (_tarinfo(n, size=len(regular[n])), io.BytesIO(regular[n]))
        for n in names
    )
    return _write_tar_gz(entries, gzip_level)[0]


# Tar framing around one file: a header block and two end-of-archive blocks; gzip
# adds 18 bytes and, at level 0, deflate 5 bytes per stored block of <= 64 KiB.
def _random_payload_size(size: int) -> int:
    return max(0, size - 3 * tarfile.BLOCKSIZE - 18 - 5 * (size // 65535 + 1))


def random_layer(size: int, seed: int = 0, *, gzip_level: int = 0) -> bytes:
    """A tar+gzip layer of about `size` bytes holding one incompressible file.

    The file ("random-<seed>.bin") holds random.Random(seed).randbytes(n), so the
    same (size, seed) always gives the same bytes and different seeds give
    different digests. Random data does not compress, so the default gzip level 0
    (stored deflate blocks, still a valid gzip stream) keeps a 256 MiB layer under
    a second instead of ~5 s at level 6 with the same result size.
    """
    if size < 0:
        raise ValueError("size must be >= 0")
    n = _random_payload_size(size)
    info = _tarinfo(f"random-{seed}.bin", size=n)
    return _write_tar_gz([(info, _RandomReader(n, seed))], gzip_level)[0]


def diff_id(layer: bytes) -> str:
    """sha256 of the uncompressed tar (gzip'ed layers are decompressed in pieces)."""
    if not layer.startswith(_GZIP_MAGIC):
        return sha256_digest(layer)
    h = hashlib.sha256()
    d = zlib.decompressobj(31)
    view = memoryview(layer)
    for start in range(0, len(layer), _CHUNK):
        h.update(d.decompress(view[start : start + _CHUNK]))
    h.update(d.flush())
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------- manifests


def _image_config(layers: list[bytes], os: str, arch: str) -> bytes:
    return _dumps(
        {
            "created": _EPOCH,
            "architecture": arch,
            "os": os,
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/sh"],
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id(layer) for layer in layers]},
            "history": [
                {"created": _EPOCH, "created_by": f"moorage tests: layer {i}"}
                for i in range(len(layers))
            ],
        }
    )


def _subject_descriptor(subject: Blob | Image | Index) -> dict[str, Any]:
    blob = subject if isinstance(subject, Blob) else subject.manifest
    return blob.descriptor()


def build_image(
    layers: list[bytes],
    *,
    os: str = "linux",
    arch: str = "amd64",
    media: Flavor = "oci",
    annotations: dict[str, str] | None = None,
    artifact_type: str | None = None,
    config_media_type: str | None = None,
    config_data: bytes | None = None,
    layer_media_type: str | None = None,
    layer_annotations: list[dict[str, str] | None] | None = None,
    subject: Blob | Image | Index | None = None,
) -> Image:
    """An image manifest over `layers` (compressed layer bytes, in order).

    Without `config_data` the config is a real image config (architecture, os,
    rootfs.diff_ids of the uncompressed layers, history) when the config media
    type is the image config of the flavor; an artifact (`artifact_type` set, or
    another config media type) gets the empty JSON `{}` instead, with media type
    application/vnd.oci.empty.v1+json unless `config_media_type` says otherwise.
    `subject` (a manifest blob, image or index) makes this manifest a referrer.
    """
    try:
        types = _FLAVORS[media]
    except KeyError:
        raise ValueError(f"media must be 'oci' or 'docker', not {media!r}") from None
    if media == "docker" and (annotations or artifact_type or subject or layer_annotations):
        raise ValueError("Docker schema 2 manifests have no annotations, artifactType or subject")
    if layer_annotations is not None and len(layer_annotations) != len(layers):
        raise ValueError("layer_annotations needs one entry per layer")

    if config_media_type is None:
        config_media_type = EMPTY_JSON_MEDIA_TYPE if artifact_type and config_data is None else types.config
    if config_data is None:
        is_image = config_media_type == types.config
        config_data = _image_config(layers, os, arch) if is_image else EMPTY_JSON
    config = Blob.of(config_media_type, config_data)
    layer_blobs = tuple(Blob.of(layer_media_type or types.layer, data) for data in layers)

    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": types.manifest}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["config"] = config.descriptor()
    doc["layers"] = [
        blob.descriptor(**({"annotations": layer_annotations[i]} if layer_annotations and layer_annotations[i] else {}))
        for i, blob in enumerate(layer_blobs)
    ]
    if subject is not None:
        doc["subject"] = _subject_descriptor(subject)
    if annotations:
        doc["annotations"] = dict(annotations)
    return Image(Blob.of(types.manifest, _dumps(doc)), config, layer_blobs, (os, arch))


def build_index(
    images: list[Image],
    *,
    media: Flavor = "oci",
    annotations: dict[str, str] | None = None,
    artifact_type: str | None = None,
    subject: Blob | Image | Index | None = None,
) -> Index:
    """An image index (or Docker manifest list) whose descriptors carry each platform."""
    try:
        types = _FLAVORS[media]
    except KeyError:
        raise ValueError(f"media must be 'oci' or 'docker', not {media!r}") from None
    if media == "docker" and (annotations or artifact_type or subject):
        raise ValueError("Docker manifest lists have no annotations, artifactType or subject")
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": types.index}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["manifests"] = [
        image.manifest.descriptor(platform={"architecture": image.platform[1], "os": image.platform[0]})
        for image in images
    ]
    if subject is not None:
        doc["subject"] = _subject_descriptor(subject)
    if annotations:
        doc["annotations"] = dict(annotations)
    return Index(Blob.of(types.index, _dumps(doc)), tuple(images))


# ---------------------------------------------------------------- OCI image layout


def write_oci_layout(directory: Path, refs: dict[str, Image | Index]) -> Path:
    """Write (or add to) an OCI image layout holding `refs` (ref name -> image/index).

    Read it with `skopeo copy oci:DIRECTORY:REF ...`. Entries of an existing
    index.json with other ref names are kept.
    """
    directory = Path(directory)
    blob_dir = directory / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_bytes(_dumps({"imageLayoutVersion": "1.0.0"}))

    index_path = directory / "index.json"
    manifests: list[dict[str, Any]] = []
    if index_path.exists():
        manifests = [
            m
            for m in json.loads(index_path.read_bytes()).get("manifests", [])
            if m.get("annotations", {}).get(REF_NAME_ANNOTATION) not in refs
        ]
    for ref, item in refs.items():
        for blob in item.all_blobs():
            path = blob_dir / blob.hex
            if not (path.exists() and path.stat().st_size == blob.size):
                path.write_bytes(blob.data)
        manifests.append(item.manifest.descriptor(annotations={REF_NAME_ANNOTATION: ref}))
    index_path.write_bytes(_dumps({"schemaVersion": 2, "mediaType": OCI.index, "manifests": manifests}))
    return directory


def read_oci_layout(directory: Path, ref: str) -> str:
    """The manifest digest that index.json of the layout names `ref`."""
    index = json.loads((Path(directory) / "index.json").read_bytes())
    for descriptor in index.get("manifests", []):
        if descriptor.get("annotations", {}).get(REF_NAME_ANNOTATION) == ref:
            return descriptor["digest"]
    raise KeyError(f"no ref {ref!r} in {directory}/index.json")


def read_blob(directory: Path, digest: str) -> bytes:
    """The bytes of one blob in an OCI image layout."""
    algorithm, hex_ = digest.split(":", 1)
    return (Path(directory) / "blobs" / algorithm / hex_).read_bytes()


# ---------------------------------------------------------------- skopeo "dir:" layout

_DIR_VERSION = b"Directory Transport Version: 1.1\n"


def write_dir_layout(directory: Path, item: Image | Index) -> Path:
    """Write `item` as skopeo's `dir:` transport lays it out.

    skopeo's `oci:` transport only lists OCI media types, so Docker schema 2
    images and manifest lists travel through `dir:DIRECTORY` instead: "version",
    "manifest.json", one file per blob named by its hex digest and, for an index,
    "<hex>.manifest.json" per child manifest.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "version").write_bytes(_DIR_VERSION)
    (directory / "manifest.json").write_bytes(item.manifest.data)
    children = item.images if isinstance(item, Index) else ()
    for child in children:
        (directory / f"{child.manifest.hex}.manifest.json").write_bytes(child.manifest.data)
    for blob in (item.blobs() if isinstance(item, Image) else [b for i in children for b in i.blobs()]):
        (directory / blob.hex).write_bytes(blob.data)
    return directory


def read_dir_layout(directory: Path) -> str:
    """The digest of the top-level manifest of a `dir:` layout."""
    return sha256_digest((Path(directory) / "manifest.json").read_bytes())
