"""The OCI Distribution protocol, sans I/O: names, digests, media types, manifests,
routes and error bodies. Standard library only; nothing here touches AWS."""

from .digest import Digest, DigestHasher
from .errors import Code, OciError, error_body
from .manifest import (
    MAX_MANIFEST_BYTES,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Manifest,
    Platform,
    parse_manifest,
)
from .mediatypes import (
    BINARY_BODY_TYPES,
    DOCKER_CONFIG,
    DOCKER_FOREIGN_LAYER,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
    IMAGE_MANIFEST_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    NONDISTRIBUTABLE_TYPES,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_NONDISTRIBUTABLE,
    OCI_LAYER_NONDISTRIBUTABLE_GZIP,
    OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    SCHEMA1_TYPES,
    accepts,
    base_type,
)
from .names import (
    MAX_NAME_LENGTH,
    NAME_RE,
    TAG_RE,
    RepoName,
    Tag,
    parse_reference,
    parse_registry_name,
)
from .ranges import format_range, parse_content_range
from .routes import Action, Route, RouteMatch, action_for, allowed_methods, match_route

__all__ = [
    # errors
    "Code",
    "OciError",
    "error_body",
    # digest
    "Digest",
    "DigestHasher",
    # names
    "MAX_NAME_LENGTH",
    "NAME_RE",
    "TAG_RE",
    "RepoName",
    "Tag",
    "parse_reference",
    "parse_registry_name",
    # mediatypes
    "BINARY_BODY_TYPES",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_SCHEMA1",
    "DOCKER_SCHEMA1_SIGNED",
    "IMAGE_MANIFEST_TYPES",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "NONDISTRIBUTABLE_TYPES",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE",
    "OCI_LAYER_NONDISTRIBUTABLE_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE_ZSTD",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "SCHEMA1_TYPES",
    "accepts",
    "base_type",
    # manifest
    "MAX_MANIFEST_BYTES",
    "Descriptor",
    "ImageIndex",
    "ImageManifest",
    "Manifest",
    "Platform",
    "parse_manifest",
    # routes
    "Action",
    "Route",
    "RouteMatch",
    "action_for",
    "allowed_methods",
    "match_route",
    # ranges
    "format_range",
    "parse_content_range",
]
