"""Manifests in, typed values out (image-spec manifest.md, image-index.md, descriptor.md).

parse_manifest() takes the exact bytes a client pushed and returns an ImageManifest or
an ImageIndex built from frozen Descriptors. The bytes are kept as they came, since
the manifest digest is the digest of those bytes, never of a re-serialisation.
Every problem, whatever the input, is an OciError naming the offending field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .digest import Digest
from .errors import Code, OciError
from .mediatypes import (
    DOCKER_SCHEMA1,
    INDEX_TYPES,
    MANIFEST_TYPES,
    NONDISTRIBUTABLE_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    SCHEMA1_TYPES,
    base_type,
)

# distribution-spec: "Registries SHOULD accept manifests of at least 4 MiB"; we accept
# exactly that much, which also bounds the work a single PUT can cause.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# descriptor.md: size is an int64.
_MAX_SIZE = 2**63 - 1


class _FrozenMap(Mapping[str, str]):
    """A read-only, hashable str -> str mapping, so frozen values stay hashable."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None):
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


_NO_ANNOTATIONS = _FrozenMap()


def _frozen(annotations: Mapping[str, str] | None) -> _FrozenMap:
    return annotations if isinstance(annotations, _FrozenMap) else _FrozenMap(annotations)


@dataclass(frozen=True)
class Platform:
    architecture: str
    os: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "os_features", tuple(self.os_features))

    def to_json(self) -> dict:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version is not None:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant is not None:
            out["variant"] = self.variant
        return out


@dataclass(frozen=True)
class Descriptor:
    """A reference to content by media type, digest and size (descriptor.md)."""

    media_type: str
    digest: Digest
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = _NO_ANNOTATIONS
    artifact_type: str | None = None
    platform: Platform | None = None

    def __post_init__(self) -> None:
        # Accept the convenient forms (a digest string, lists, a dict) and store
        # immutable ones.
        if isinstance(self.digest, str):
            object.__setattr__(self, "digest", Digest.parse(self.digest))
        object.__setattr__(self, "urls", tuple(self.urls))
        object.__setattr__(self, "annotations", _frozen(self.annotations))

    def to_json(self) -> dict:
        out: dict[str, Any] = {"mediaType": self.media_type}
        if self.artifact_type is not None:
            out["artifactType"] = self.artifact_type
        out["digest"] = str(self.digest)
        out["size"] = self.size
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out


@dataclass(frozen=True)
class ImageManifest:
    """An OCI image manifest or a Docker schema 2 manifest."""

    media_type: str
    raw: bytes = field(repr=False)
    digest: Digest
    config: Descriptor
    layers: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = _NO_ANNOTATIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "annotations", _frozen(self.annotations))

    def required_blobs(self) -> tuple[Descriptor, ...]:
        """The blobs the registry must hold before accepting this manifest."""
        layers = (d for d in self.layers if d.media_type not in NONDISTRIBUTABLE_TYPES)
        return (self.config, *layers)

    def descriptor(self) -> Descriptor:
        """This manifest as its referrers-API descriptor."""
        return Descriptor(
            media_type=self.media_type,
            digest=self.digest,
            size=len(self.raw),
            annotations=self.annotations,
            artifact_type=self.artifact_type,
        )


@dataclass(frozen=True)
class ImageIndex:
    """An OCI image index or a Docker manifest list."""

    media_type: str
    raw: bytes = field(repr=False)
    digest: Digest
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = _NO_ANNOTATIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifests", tuple(self.manifests))
        object.__setattr__(self, "annotations", _frozen(self.annotations))

    def descriptor(self) -> Descriptor:
        """This index as its referrers-API descriptor."""
        return Descriptor(
            media_type=self.media_type,
            digest=self.digest,
            size=len(self.raw),
            annotations=self.annotations,
            artifact_type=self.artifact_type,
        )


Manifest = ImageManifest | ImageIndex


def _invalid(message: str, detail: object = None) -> OciError:
    return OciError(Code.MANIFEST_INVALID, detail=detail, message=message)


def _field_invalid(path: str, problem: str) -> OciError:
    return _invalid(f"{path} {problem}", {"field": path})


def _utf8(text: str) -> bool:
    # JSON "\ud800" escapes decode to lone surrogates, which no store can encode.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Fields:
    """Typed reads from one JSON object; each error names the field's full path.

    A null counts as an absent field, as it does for the Go clients that write
    most manifests.
    """

    def __init__(self, obj: dict, path: str = ""):
        self._obj = obj
        self._path = path

    def path(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _get(self, key: str, required: bool) -> Any:
        value = self._obj.get(key)
        if value is None and required:
            raise _field_invalid(self.path(key), "is required")
        return value

    def string(self, key: str, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not _utf8(value):
            raise _field_invalid(self.path(key), "must be a string")
        if not value:
            if required:
                raise _field_invalid(self.path(key), "must not be empty")
            return None
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self._get(key, False)
        if values is None:
            return ()
        if not isinstance(values, list) or not all(
            isinstance(v, str) and _utf8(v) for v in values
        ):
            raise _field_invalid(self.path(key), "must be a list of strings")
        return tuple(values)

    def annotations(self, key: str = "annotations") -> _FrozenMap:
        value = self._get(key, False)
        if value is None:
            return _NO_ANNOTATIONS
        if not isinstance(value, dict) or not all(
            isinstance(v, str) and _utf8(k) and _utf8(v) for k, v in value.items()
        ):
            raise _field_invalid(self.path(key), "must map strings to strings")
        return _FrozenMap(value)

    def size(self, key: str = "size") -> int:
        value = self._get(key, True)
        # bool is an int in Python, never in JSON.
        if type(value) is not int or not 0 <= value <= _MAX_SIZE:
            raise _field_invalid(self.path(key), "must be a non-negative 64-bit integer")
        return value

    def digest(self, key: str = "digest") -> Digest:
        value = self._get(key, True)
        try:
            return Digest.parse(value)
        except OciError as error:
            detail = {"field": self.path(key), "digest": error.detail}
            message = f"{self.path(key)} is not a valid digest: {error.message}"
            raise _invalid(message, detail) from error

    def object(self, key: str, required: bool = False) -> _Fields | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _field_invalid(self.path(key), "must be an object")
        return _Fields(value, self.path(key))

    def objects(self, key: str) -> list[_Fields]:
        values = self._get(key, True)
        if not isinstance(values, list):
            raise _field_invalid(self.path(key), "must be a list")
        out = []
        for i, value in enumerate(values):
            if not isinstance(value, dict):
                raise _field_invalid(f"{self.path(key)}[{i}]", "must be an object")
            out.append(_Fields(value, f"{self.path(key)}[{i}]"))
        return out

    def reject(self, key: str, why: str) -> None:
        if key in self._obj:
            raise _field_invalid(self.path(key), why)


def _platform(fields: _Fields) -> Platform:
    return Platform(
        architecture=fields.string("architecture", required=True),
        os=fields.string("os", required=True),
        variant=fields.string("variant"),
        os_version=fields.string("os.version"),
        os_features=fields.strings("os.features"),
    )


def _descriptor(fields: _Fields) -> Descriptor:
    fields.string("data")  # embedded content: only its type is checked, never kept
    platform = fields.object("platform")
    return Descriptor(
        media_type=fields.string("mediaType", required=True),
        digest=fields.digest(),
        size=fields.size(),
        urls=fields.strings("urls"),
        annotations=fields.annotations(),
        artifact_type=fields.string("artifactType"),
        platform=_platform(platform) if platform else None,
    )


def _optional_descriptor(fields: _Fields, key: str) -> Descriptor | None:
    obj = fields.object(key)
    return _descriptor(obj) if obj else None


_SCHEMA1_MESSAGE = (
    "Docker schema 1 manifests are not supported; push with a current client "
    "or convert the image to schema 2 / OCI"
)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    # Duplicate keys are read differently by different parsers (first or last wins),
    # so a scanner or client could see another manifest than the one we checked.
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _load_json(raw: bytes) -> Any:
    try:
        return json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError:
        reason = "it is not UTF-8"
    except RecursionError:
        reason = "it is nested too deeply"
    except ValueError as error:  # JSONDecodeError, our hooks, int digit limit
        reason = str(error)
    raise _invalid(f"manifest is not valid JSON: {reason}")


def _media_type(header: str | None, body: str | None, doc: dict) -> str:
    """The manifest's media type, from its mediaType field and the Content-Type."""
    header = header if header in MANIFEST_TYPES else None
    if body and header and body != header:
        detail = {"contentType": header, "mediaType": body}
        raise _invalid("Content-Type does not match mediaType", detail)
    media_type = body or header
    if media_type is None:
        if "manifests" in doc:
            media_type = OCI_INDEX
        elif "config" in doc:
            media_type = OCI_MANIFEST
        else:
            raise _invalid("cannot tell the manifest type: set mediaType")
    if media_type not in MANIFEST_TYPES:
        raise _invalid(
            f"unsupported manifest media type {media_type!r}", {"mediaType": media_type}
        )
    return media_type


def _image_manifest(media_type: str, raw: bytes, fields: _Fields) -> ImageManifest:
    # A document that is both manifest and index could be read as either.
    fields.reject("manifests", "is not allowed in an image manifest")
    config = _descriptor(fields.object("config", required=True))
    artifact_type = fields.string("artifactType")
    # distribution-spec, referrers: "If the artifactType is empty or missing in the
    # image manifest, the value of artifactType MUST be set to the config descriptor
    # mediaType value"; a plain image keeps None.
    if artifact_type is None and media_type == OCI_MANIFEST and config.media_type != OCI_CONFIG:
        artifact_type = config.media_type
    return ImageManifest(
        media_type=media_type,
        raw=raw,
        digest=Digest.of(raw),
        config=config,
        layers=tuple(_descriptor(layer) for layer in fields.objects("layers")),
        subject=_optional_descriptor(fields, "subject"),
        artifact_type=artifact_type,
        annotations=fields.annotations(),
    )


def _image_index(media_type: str, raw: bytes, fields: _Fields) -> ImageIndex:
    fields.reject("config", "is not allowed in an image index")
    fields.reject("layers", "is not allowed in an image index")
    return ImageIndex(
        media_type=media_type,
        raw=raw,
        digest=Digest.of(raw),
        manifests=tuple(_descriptor(child) for child in fields.objects("manifests")),
        subject=_optional_descriptor(fields, "subject"),
        artifact_type=fields.string("artifactType"),
        annotations=fields.annotations(),
    )


def parse_manifest(content_type: str | None, raw: bytes) -> Manifest:
    """Validate a pushed manifest and return it as a typed value; OciError otherwise."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise _invalid("manifest body must be bytes")
    raw = bytes(raw)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise OciError(
            Code.SIZE_INVALID,
            detail={"size": len(raw), "limit": MAX_MANIFEST_BYTES},
            message="manifest exceeds the 4 MiB limit",
            status=413,
        )
    if not raw:
        raise _invalid("manifest body is empty")
    header = base_type(content_type)
    if header in SCHEMA1_TYPES:
        raise _invalid(_SCHEMA1_MESSAGE, {"mediaType": header})
    doc = _load_json(raw)
    if not isinstance(doc, dict):
        raise _invalid("manifest must be a JSON object")
    fields = _Fields(doc)
    version = doc.get("schemaVersion")
    body_type = fields.string("mediaType")
    if body_type in SCHEMA1_TYPES or (type(version) is int and version == 1):
        raise _invalid(_SCHEMA1_MESSAGE, {"mediaType": body_type or DOCKER_SCHEMA1})
    if type(version) is not int or version != 2:
        raise _field_invalid("schemaVersion", "must be 2")
    media_type = _media_type(header, body_type, doc)
    if media_type in INDEX_TYPES:
        return _image_index(media_type, raw, fields)
    return _image_manifest(media_type, raw, fields)
