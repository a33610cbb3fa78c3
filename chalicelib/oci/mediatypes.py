"""Media types of manifests and layers, and Accept-header matching."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
# containerd also knows the uncompressed foreign layer type.
DOCKER_FOREIGN_LAYER_TAR = "application/vnd.docker.image.rootfs.foreign.diff.tar"

IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = IMAGE_MANIFEST_TYPES | INDEX_TYPES
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
# Layers whose bytes live elsewhere (Windows base layers): a registry may not
# hold them, so pushing a manifest must not require them.
NONDISTRIBUTABLE_TYPES = frozenset(
    {
        OCI_LAYER_NONDISTRIBUTABLE,
        OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
        DOCKER_FOREIGN_LAYER,
        DOCKER_FOREIGN_LAYER_TAR,
    }
)
# Bodies that are raw bytes (blobs, upload chunks): API Gateway must pass them through
# as binary. Manifests are UTF-8 JSON and stay text, like error bodies.
BINARY_BODY_TYPES = frozenset(
    {
        "application/octet-stream",
        OCI_LAYER,
        OCI_LAYER_GZIP,
        OCI_LAYER_ZSTD,
        DOCKER_LAYER,
        *NONDISTRIBUTABLE_TYPES,
    }
)

# RFC 9110 section 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
# Only the zero values matter here: "q=0" means "not acceptable".
_ZERO_QVALUE_RE = re.compile(r"0(?:\.0{0,3})?")


def base_type(content_type: str | None) -> str | None:
    """The media type without parameters, lowercased; None when absent or blank."""
    if not isinstance(content_type, str):
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type or None


def _media_ranges(accept_values: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """(media range, excluded) for each element of each Accept header value."""
    for value in accept_values:
        for element in value.split(","):
            media_range, *parameters = element.split(";")
            media_range = media_range.strip().lower()
            if not media_range:
                continue
            excluded = False
            for parameter in parameters:
                name, _, qvalue = parameter.partition("=")
                if name.strip().lower() == "q":
                    excluded = bool(_ZERO_QVALUE_RE.fullmatch(qvalue.strip()))
            yield media_range, excluded


def _specificity(media_range: str, media_type: str) -> int:
    """How precisely a media range names the type; 0 when it does not match."""
    if media_range == media_type:
        return 3
    if media_range == media_type.split("/", 1)[0] + "/*":
        return 2
    return 1 if media_range == "*/*" else 0


def accepts(accept_values: list[str], media_type: str) -> bool:
    """Whether a request's Accept headers allow a response of media_type.

    No Accept header accepts anything. As in RFC 9110, the most specific matching
    range decides, so "*/*, <type>;q=0" accepts everything except <type>.
    """
    if isinstance(accept_values, str):
        accept_values = [accept_values]
    ranges = list(_media_ranges(accept_values or ()))
    if not ranges:
        return True
    media_type = base_type(media_type) or ""
    acceptable: dict[int, bool] = {}
    for media_range, excluded in ranges:
        specificity = _specificity(media_range, media_type)
        if specificity:
            acceptable[specificity] = acceptable.get(specificity, False) or not excluded
    return acceptable[max(acceptable)] if acceptable else False
