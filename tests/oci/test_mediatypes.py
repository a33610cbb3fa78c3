import pytest

from chalicelib.oci import mediatypes as mt
from chalicelib.oci.mediatypes import accepts, base_type


def test_constants():
    assert mt.OCI_MANIFEST == "application/vnd.oci.image.manifest.v1+json"
    assert mt.OCI_INDEX == "application/vnd.oci.image.index.v1+json"
    assert mt.DOCKER_MANIFEST == "application/vnd.docker.distribution.manifest.v2+json"
    assert mt.DOCKER_MANIFEST_LIST == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert mt.DOCKER_SCHEMA1 == "application/vnd.docker.distribution.manifest.v1+json"
    assert mt.DOCKER_SCHEMA1_SIGNED == "application/vnd.docker.distribution.manifest.v1+prettyjws"
    assert mt.OCI_EMPTY == "application/vnd.oci.empty.v1+json"
    assert mt.DOCKER_FOREIGN_LAYER == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


def test_sets():
    assert mt.IMAGE_MANIFEST_TYPES == {mt.OCI_MANIFEST, mt.DOCKER_MANIFEST}
    assert mt.INDEX_TYPES == {mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST}
    assert mt.MANIFEST_TYPES == mt.IMAGE_MANIFEST_TYPES | mt.INDEX_TYPES
    assert mt.SCHEMA1_TYPES == {mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED}
    assert not mt.SCHEMA1_TYPES & mt.MANIFEST_TYPES
    assert {
        mt.OCI_LAYER_NONDISTRIBUTABLE,
        mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
        mt.DOCKER_FOREIGN_LAYER,
    } <= mt.NONDISTRIBUTABLE_TYPES
    assert mt.OCI_LAYER_GZIP not in mt.NONDISTRIBUTABLE_TYPES



def test_binary_body_types_hold_bytes_never_manifests():
    assert "application/octet-stream" in mt.BINARY_BODY_TYPES
    assert mt.OCI_LAYER_GZIP in mt.BINARY_BODY_TYPES
    assert not mt.BINARY_BODY_TYPES & (mt.MANIFEST_TYPES | {"application/json"})


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("", None),
        ("  ", None),
        (";charset=utf-8", None),
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("  application/vnd.oci.image.manifest.v1+json ;x=y", mt.OCI_MANIFEST),
        (b"application/json", None),
    ],
)
def test_base_type(value, expected):
    assert base_type(value) == expected


M = mt.OCI_MANIFEST


@pytest.mark.parametrize(
    "accept, media_type, expected",
    [
        ([], M, True),
        ([""], M, True),
        ([" , "], M, True),
        ([M], M, True),
        ([M.upper()], M, True),
        ([mt.OCI_INDEX], M, False),
        (["*/*"], M, True),
        (["application/*"], M, True),
        (["text/*"], M, False),
        (["application/json"], M, False),
        # Docker sends one header with many types, containerd several headers.
        ([f"{mt.DOCKER_MANIFEST}, {mt.DOCKER_MANIFEST_LIST}, {M}"], M, True),
        ([mt.DOCKER_MANIFEST, mt.OCI_INDEX, M], M, True),
        ([mt.DOCKER_MANIFEST, mt.OCI_INDEX], M, False),
        ([f"{M}; q=0.5"], M, True),
        ([f"{M};q=0"], M, False),
        ([f"{M};q=0.000"], M, False),
        ([f"{M};q=0.001"], M, True),
        ([f"{M} ; Q=0"], M, False),
        ([f"{M};q=junk"], M, True),
        ([f"*/*, {M};q=0"], M, False),
        ([f"*/*;q=0, {M}"], M, True),
        ([f"application/*;q=0, {M}"], M, True),
        ([f"*/*, application/*;q=0"], M, False),
        ([f"{M};q=0", f"{M};q=1"], M, True),
        ([f"{M};charset=utf-8"], M, True),
        (["*/*;q=0"], M, False),
        ([M], f"{M}; charset=utf-8", True),
    ],
)
def test_accepts(accept, media_type, expected):
    assert accepts(accept, media_type) is expected


def test_accepts_tolerates_a_bare_string_and_none():
    assert accepts(mt.OCI_INDEX, mt.OCI_INDEX)
    assert accepts(None, mt.OCI_INDEX)
