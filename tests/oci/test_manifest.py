import copy
import hashlib
import json
import random

import pytest

from chalicelib.oci import (
    MAX_MANIFEST_BYTES,
    Code,
    Descriptor,
    Digest,
    ImageIndex,
    ImageManifest,
    OciError,
    Platform,
    parse_manifest,
)
from chalicelib.oci import mediatypes as mt

EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
SBOM = "application/spdx+json"


def desc(media_type, content=b"x", **extra):
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(content).hexdigest(),
        "size": len(content),
        **extra,
    }


def encode(doc):
    return json.dumps(doc).encode()


def oci_manifest():
    return {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": desc(mt.OCI_CONFIG, b'{"architecture":"amd64","os":"linux"}'),
        "layers": [desc(mt.OCI_LAYER_GZIP, b"layer1"), desc(mt.OCI_LAYER_ZSTD, b"layer2")],
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    }


def docker_manifest():
    return {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST,
        "config": desc(mt.DOCKER_CONFIG, b"config"),
        "layers": [desc(mt.DOCKER_LAYER, b"layer")],
    }


def oci_index():
    return {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [
            desc(mt.OCI_MANIFEST, b"amd64", platform={"architecture": "amd64", "os": "linux"}),
            desc(
                mt.OCI_MANIFEST,
                b"arm64",
                platform={"architecture": "arm64", "os": "linux", "variant": "v8"},
            ),
            desc(
                mt.OCI_MANIFEST,
                b"windows",
                platform={
                    "architecture": "amd64",
                    "os": "windows",
                    "os.version": "10.0.17763.1234",
                    "os.features": ["win32k"],
                },
            ),
        ],
    }


def docker_manifest_list():
    return {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST_LIST,
        "manifests": [
            desc(mt.DOCKER_MANIFEST, b"a", platform={"architecture": "amd64", "os": "linux"}),
            desc(mt.DOCKER_MANIFEST, b"b", platform={"architecture": "s390x", "os": "linux"}),
        ],
    }


def artifact():
    return {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": SBOM,
        "config": {"mediaType": mt.OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2},
        "layers": [desc(SBOM, b"{}", annotations={"org.opencontainers.image.title": "sbom.json"})],
        "subject": desc(mt.OCI_MANIFEST, b"the image"),
        "annotations": {"org.example": "value"},
    }


def test_oci_manifest():
    doc = oci_manifest()
    raw = encode(doc)
    manifest = parse_manifest(mt.OCI_MANIFEST, raw)
    assert isinstance(manifest, ImageManifest)
    assert manifest.media_type == mt.OCI_MANIFEST
    assert manifest.raw == raw
    assert manifest.digest == Digest.of(raw)
    assert manifest.config.media_type == mt.OCI_CONFIG
    assert manifest.config.to_json() == doc["config"]
    assert [layer.to_json() for layer in manifest.layers] == doc["layers"]
    assert manifest.subject is None
    assert manifest.artifact_type is None  # a plain image
    assert dict(manifest.annotations) == doc["annotations"]
    assert manifest.required_blobs() == (manifest.config, *manifest.layers)


def test_docker_manifest():
    raw = encode(docker_manifest())
    manifest = parse_manifest(mt.DOCKER_MANIFEST, raw)
    assert isinstance(manifest, ImageManifest)
    assert manifest.media_type == mt.DOCKER_MANIFEST
    assert manifest.config.media_type == mt.DOCKER_CONFIG
    assert manifest.artifact_type is None  # Docker config types never make an artifact
    assert len(manifest.layers) == 1


def test_oci_index():
    doc = oci_index()
    index = parse_manifest(mt.OCI_INDEX, encode(doc))
    assert isinstance(index, ImageIndex)
    assert index.media_type == mt.OCI_INDEX
    assert [m.to_json() for m in index.manifests] == doc["manifests"]
    assert index.manifests[0].platform == Platform("amd64", "linux")
    assert index.manifests[1].platform.variant == "v8"
    windows = index.manifests[2].platform
    assert (windows.os_version, windows.os_features) == ("10.0.17763.1234", ("win32k",))
    assert index.subject is None and index.artifact_type is None


def test_docker_manifest_list():
    index = parse_manifest(mt.DOCKER_MANIFEST_LIST, encode(docker_manifest_list()))
    assert isinstance(index, ImageIndex)
    assert index.media_type == mt.DOCKER_MANIFEST_LIST
    assert [m.platform.architecture for m in index.manifests] == ["amd64", "s390x"]


def test_artifact_with_empty_config_and_subject():
    doc = artifact()
    manifest = parse_manifest(mt.OCI_MANIFEST, encode(doc))
    assert manifest.artifact_type == SBOM
    assert manifest.config == Descriptor(mt.OCI_EMPTY, Digest.parse(EMPTY_DIGEST), 2)
    assert manifest.config.digest == Digest.of(b"{}")
    assert manifest.subject.to_json() == doc["subject"]
    assert manifest.layers[0].annotations["org.opencontainers.image.title"] == "sbom.json"
    assert manifest.descriptor().to_json() == {
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": SBOM,
        "digest": str(manifest.digest),
        "size": len(manifest.raw),
        "annotations": {"org.example": "value"},
    }


def test_artifact_without_layers():
    doc = artifact()
    doc["layers"] = []
    assert parse_manifest(None, encode(doc)).layers == ()


def test_artifact_type_falls_back_to_config_media_type():
    doc = oci_manifest()
    doc["config"] = desc(HELM_CONFIG, b"{}")
    assert parse_manifest(None, encode(doc)).artifact_type == HELM_CONFIG


def test_index_with_artifact_type_and_subject():
    doc = oci_index()
    doc["artifactType"] = "application/vnd.example.bundle"
    doc["subject"] = desc(mt.OCI_MANIFEST, b"subject")
    index = parse_manifest(mt.OCI_INDEX, encode(doc))
    assert index.artifact_type == "application/vnd.example.bundle"
    assert str(index.subject.digest) == doc["subject"]["digest"]
    assert index.descriptor().artifact_type == "application/vnd.example.bundle"


def test_required_blobs_skip_nondistributable_layers():
    doc = oci_manifest()
    doc["layers"] += [
        desc(mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, b"base", urls=["https://example.com/base"]),
        desc(mt.DOCKER_FOREIGN_LAYER, b"foreign", urls=["https://example.com/foreign"]),
    ]
    manifest = parse_manifest(None, encode(doc))
    assert len(manifest.layers) == 4
    assert manifest.layers[2].urls == ("https://example.com/base",)
    assert [d.media_type for d in manifest.required_blobs()] == [
        mt.OCI_CONFIG, mt.OCI_LAYER_GZIP, mt.OCI_LAYER_ZSTD,
    ]


def test_raw_bytes_are_kept_exactly():
    raw = (
        b'{\n   "layers" : [ ],\r\n\t"config": {"size":2,"digest":"' + EMPTY_DIGEST.encode()
        + b'", "mediaType":"application/vnd.oci.empty.v1+json", "annotations": {"k": "\\u00e9"}},'
        b'"schemaVersion":2 , "x-extension": [1, 2.5, null, {"nested": true}]}\n\n'
    )
    manifest = parse_manifest("application/vnd.oci.image.manifest.v1+json", bytearray(raw))
    assert manifest.raw == raw and type(manifest.raw) is bytes
    assert manifest.digest == Digest("sha256", hashlib.sha256(raw).hexdigest())
    assert manifest.config.annotations == {"k": "é"}


@pytest.mark.parametrize(
    "content_type, body_type, keys, expected",
    [
        (mt.OCI_MANIFEST, mt.OCI_MANIFEST, "config", mt.OCI_MANIFEST),
        (None, mt.OCI_MANIFEST, "config", mt.OCI_MANIFEST),
        (mt.OCI_MANIFEST, None, "config", mt.OCI_MANIFEST),
        (mt.DOCKER_MANIFEST, None, "config", mt.DOCKER_MANIFEST),
        (f"{mt.DOCKER_MANIFEST}; charset=utf-8", None, "config", mt.DOCKER_MANIFEST),
        (mt.DOCKER_MANIFEST.upper(), None, "config", mt.DOCKER_MANIFEST),
        (mt.DOCKER_MANIFEST_LIST, None, "manifests", mt.DOCKER_MANIFEST_LIST),
        (None, None, "config", mt.OCI_MANIFEST),
        (None, None, "manifests", mt.OCI_INDEX),
        # A Content-Type that names no manifest type (curl's default, say) is ignored.
        ("application/json", None, "config", mt.OCI_MANIFEST),
        ("application/octet-stream", mt.DOCKER_MANIFEST, "config", mt.DOCKER_MANIFEST),
        ("", mt.OCI_INDEX, "manifests", mt.OCI_INDEX),
    ],
)
def test_media_type_resolution(content_type, body_type, keys, expected):
    doc = oci_manifest() if keys == "config" else oci_index()
    doc.pop("mediaType")
    if body_type:
        doc["mediaType"] = body_type
    assert parse_manifest(content_type, encode(doc)).media_type == expected


@pytest.mark.parametrize(
    "content_type, body_type, keys, message",
    [
        (mt.DOCKER_MANIFEST, mt.OCI_MANIFEST, "config", "Content-Type does not match mediaType"),
        (mt.OCI_INDEX, mt.OCI_MANIFEST, "config", "Content-Type does not match mediaType"),
        (None, None, None, "cannot tell the manifest type"),
        (None, "application/vnd.example+json", "config", "unsupported manifest media type"),
        (None, mt.OCI_CONFIG, "config", "unsupported manifest media type"),
        (None, "", "nothing", "cannot tell the manifest type"),
        (None, 5, "config", "mediaType must be a string"),
        # The type says index, the body is a manifest (and the other way round).
        (mt.OCI_INDEX, None, "config", "config is not allowed in an image index"),
        (None, mt.OCI_MANIFEST, "manifests", "manifests is not allowed in an image manifest"),
    ],
)
def test_media_type_errors(content_type, body_type, keys, message):
    doc = {"schemaVersion": 2}
    if keys == "config":
        doc.update(config=oci_manifest()["config"], layers=[])
    elif keys == "manifests":
        doc.update(manifests=[])
    if body_type is not None:
        doc["mediaType"] = body_type
    with pytest.raises(OciError) as info:
        parse_manifest(content_type, encode(doc))
    assert info.value.code is Code.MANIFEST_INVALID
    assert message in info.value.message


def test_unsupported_media_type_is_named():
    doc = oci_manifest()
    doc["mediaType"] = "application/vnd.example+json"
    with pytest.raises(OciError) as info:
        parse_manifest(None, encode(doc))
    assert "application/vnd.example+json" in info.value.message


def test_ambiguous_documents_are_rejected():
    both = {**oci_manifest(), "manifests": []}
    with pytest.raises(OciError) as info:
        parse_manifest(mt.OCI_MANIFEST, encode(both))
    assert info.value.detail == {"field": "manifests"}
    for key in ("config", "layers"):
        index = {**oci_index(), key: oci_manifest()[key]}
        with pytest.raises(OciError) as info:
            parse_manifest(mt.OCI_INDEX, encode(index))
        assert info.value.detail == {"field": key}


SCHEMA1 = {
    "schemaVersion": 1,
    "name": "acme/web",
    "tag": "latest",
    "architecture": "amd64",
    "fsLayers": [{"blobSum": "sha256:" + "a" * 64}],
    "history": [{"v1Compatibility": "{}"}],
}


@pytest.mark.parametrize(
    "content_type, raw",
    [
        (mt.DOCKER_SCHEMA1_SIGNED, encode(SCHEMA1)),
        (mt.DOCKER_SCHEMA1, encode(SCHEMA1)),
        (mt.DOCKER_SCHEMA1_SIGNED, b"not even json"),
        (None, encode(SCHEMA1)),
        ("application/json", encode({**SCHEMA1, "mediaType": mt.DOCKER_SCHEMA1})),
        (None, encode({**oci_manifest(), "mediaType": mt.DOCKER_SCHEMA1_SIGNED})),
    ],
)
def test_schema1_is_refused_with_advice(content_type, raw):
    with pytest.raises(OciError) as info:
        parse_manifest(content_type, raw)
    assert info.value.code is Code.MANIFEST_INVALID
    assert info.value.message == (
        "Docker schema 1 manifests are not supported; push with a current client "
        "or convert the image to schema 2 / OCI"
    )


@pytest.mark.parametrize("version", [None, "2", 2.0, True, 3, 0, -2, [2], {"v": 2}])
def test_schema_version_must_be_2(version):
    doc = oci_manifest()
    if version is None:
        del doc["schemaVersion"]
    else:
        doc["schemaVersion"] = version
    with pytest.raises(OciError) as info:
        parse_manifest(None, encode(doc))
    assert info.value.code is Code.MANIFEST_INVALID
    assert info.value.detail == {"field": "schemaVersion"}


def _padded(size):
    """A valid manifest of exactly `size` bytes."""
    doc = oci_manifest()
    doc["annotations"] = {"pad": ""}
    base = len(encode(doc))
    doc["annotations"]["pad"] = "x" * (size - base)
    raw = encode(doc)
    assert len(raw) == size
    return raw


def test_size_limit():
    assert MAX_MANIFEST_BYTES == 4 * 1024 * 1024
    assert len(parse_manifest(None, _padded(MAX_MANIFEST_BYTES)).raw) == MAX_MANIFEST_BYTES
    with pytest.raises(OciError) as info:
        parse_manifest(None, _padded(MAX_MANIFEST_BYTES + 1))
    assert info.value.code is Code.SIZE_INVALID
    assert info.value.status == 413
    assert info.value.message == "manifest exceeds the 4 MiB limit"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "empty"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        ("{}".encode("utf-16"), "not valid JSON"),
        (b"\xef\xbb\xbf" + encode(oci_manifest()), "not valid JSON"),  # UTF-8 BOM
        (b"[]", "JSON object"),
        (b"null", "JSON object"),
        (b"2", "JSON object"),
        (b'"{}"', "JSON object"),
        (b'{"schemaVersion": NaN}', "not valid JSON"),
        (b'{"schemaVersion": Infinity}', "not valid JSON"),
        (b'{"schemaVersion": 2, "schemaVersion": 2}', "duplicate key"),
        (b'{"schemaVersion": 2, "config": {"size": 1' + b"0" * 5000 + b"}}", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "not valid JSON"),
        (b"{} {}", "not valid JSON"),
    ],
)
def test_body_errors(raw, message):
    with pytest.raises(OciError) as info:
        parse_manifest(None, raw)
    assert info.value.code is Code.MANIFEST_INVALID
    assert message in info.value.message


@pytest.mark.parametrize("raw", [None, "{}", 42, [b"{}"]])
def test_body_must_be_bytes(raw):
    with pytest.raises(OciError) as info:
        parse_manifest(None, raw)
    assert info.value.code is Code.MANIFEST_INVALID


def _set(doc, path, value):
    """Set (or, for ..., delete) the field at a path like "layers/0/size"."""
    *parents, last = path.split("/")
    target = doc
    for key in parents:
        target = target[int(key) if isinstance(target, list) else key]
    key = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[key]
    else:
        target[key] = value


@pytest.mark.parametrize(
    "factory, path, value, field",
    [
        (oci_manifest, "config", ..., "config"),
        (oci_manifest, "config", None, "config"),
        (oci_manifest, "config", [], "config"),
        (oci_manifest, "config", "sha256:" + "a" * 64, "config"),
        (oci_manifest, "layers", ..., "layers"),
        (oci_manifest, "layers", None, "layers"),
        (oci_manifest, "layers", {}, "layers"),
        (oci_manifest, "layers/1", "x", "layers[1]"),
        (oci_manifest, "layers/1", None, "layers[1]"),
        (oci_manifest, "config/mediaType", ..., "config.mediaType"),
        (oci_manifest, "config/mediaType", "", "config.mediaType"),
        (oci_manifest, "config/mediaType", 1, "config.mediaType"),
        (oci_manifest, "layers/0/mediaType", ["a"], "layers[0].mediaType"),
        (oci_manifest, "config/digest", ..., "config.digest"),
        (oci_manifest, "layers/1/digest", "sha256:" + "A" * 64, "layers[1].digest"),
        (oci_manifest, "layers/1/digest", "sha256:abc", "layers[1].digest"),
        (oci_manifest, "layers/1/digest", "md5:d41d8cd98f00b204e9800998ecf8427e", "layers[1].digest"),
        (oci_manifest, "layers/1/digest", 12, "layers[1].digest"),
        (oci_manifest, "layers/0/size", ..., "layers[0].size"),
        (oci_manifest, "layers/0/size", -1, "layers[0].size"),
        (oci_manifest, "layers/0/size", 1.5, "layers[0].size"),
        (oci_manifest, "layers/0/size", 1.0, "layers[0].size"),
        (oci_manifest, "layers/0/size", "1", "layers[0].size"),
        (oci_manifest, "layers/0/size", True, "layers[0].size"),
        (oci_manifest, "layers/0/size", 2**63, "layers[0].size"),
        (oci_manifest, "layers/0/urls", "https://x", "layers[0].urls"),
        (oci_manifest, "layers/0/urls", [1], "layers[0].urls"),
        (oci_manifest, "layers/0/urls", False, "layers[0].urls"),
        (oci_manifest, "layers/0/annotations", "", "layers[0].annotations"),
        (oci_manifest, "annotations", 0, "annotations"),
        (oci_manifest, "layers/0/annotations", ["a"], "layers[0].annotations"),
        (oci_manifest, "layers/0/annotations", {"a": 1}, "layers[0].annotations"),
        (oci_manifest, "layers/0/annotations", {"a": None}, "layers[0].annotations"),
        (oci_manifest, "layers/0/artifactType", 1, "layers[0].artifactType"),
        (oci_manifest, "layers/0/data", 1, "layers[0].data"),
        (oci_manifest, "annotations", "x", "annotations"),
        (oci_manifest, "annotations", {"k": ["v"]}, "annotations"),
        (oci_manifest, "annotations", {"k": "\ud800"}, "annotations"),
        (oci_manifest, "artifactType", {}, "artifactType"),
        (oci_manifest, "subject", "sha256:" + "a" * 64, "subject"),
        (oci_manifest, "subject", {"mediaType": mt.OCI_MANIFEST}, "subject.digest"),
        (artifact, "subject/size", -5, "subject.size"),
        (artifact, "subject/digest", "", "subject.digest"),
        (oci_index, "manifests", ..., "manifests"),
        (oci_index, "manifests", "x", "manifests"),
        (oci_index, "manifests/2", 7, "manifests[2]"),
        (oci_index, "manifests/0/digest", "latest", "manifests[0].digest"),
        (oci_index, "manifests/0/platform", "linux/amd64", "manifests[0].platform"),
        (oci_index, "manifests/0/platform/os", ..., "manifests[0].platform.os"),
        (oci_index, "manifests/0/platform/architecture", 64, "manifests[0].platform.architecture"),
        (oci_index, "manifests/1/platform/variant", 8, "manifests[1].platform.variant"),
        (oci_index, "manifests/2/platform/os.features", "win32k", "manifests[2].platform.os.features"),
        (oci_index, "manifests/2/platform/os.version", 10, "manifests[2].platform.os.version"),
        (docker_manifest_list, "manifests/1/size", None, "manifests[1].size"),
    ],
)
def test_field_errors_name_the_field(factory, path, value, field):
    doc = factory()
    _set(doc, path, value)
    with pytest.raises(OciError) as info:
        parse_manifest(None, encode(doc))
    assert info.value.code is Code.MANIFEST_INVALID
    assert info.value.detail["field"] == field
    assert info.value.message.startswith(field)


def test_bad_digest_keeps_the_reason():
    doc = oci_manifest()
    doc["layers"][0]["digest"] = "sha256:" + "A" * 64
    with pytest.raises(OciError) as info:
        parse_manifest(None, encode(doc))
    assert info.value.code is Code.MANIFEST_INVALID
    assert info.value.detail == {"field": "layers[0].digest", "digest": "sha256:" + "A" * 64}
    assert "64 lowercase hex" in info.value.message


def test_nulls_and_empty_strings_in_optional_fields_count_as_absent():
    doc = oci_manifest()
    doc.update(subject=None, artifactType="", annotations=None)
    doc["layers"][0].update(urls=None, annotations=None, platform=None, artifactType=None)
    manifest = parse_manifest(None, encode(doc))
    assert manifest.subject is None and manifest.artifact_type is None
    assert manifest.layers[0].to_json() == desc(mt.OCI_LAYER_GZIP, b"layer1")


def test_unknown_fields_are_allowed():
    doc = oci_manifest()
    doc["x-vendor"] = {"anything": [1, None]}
    doc["layers"][0]["x-vendor"] = True
    assert len(parse_manifest(None, encode(doc)).layers) == 2


def test_values_are_frozen_and_hashable():
    manifest = parse_manifest(None, encode(artifact()))
    index = parse_manifest(None, encode(oci_index()))
    assert len({manifest, index, parse_manifest(None, encode(artifact()))}) == 2
    with pytest.raises(AttributeError):
        manifest.layers = ()
    with pytest.raises(TypeError):
        manifest.annotations["k"] = "v"
    assert "raw" not in repr(manifest)


def test_descriptor_construction_and_json():
    descriptor = Descriptor(
        "application/x", "sha256:" + "a" * 64, 3,
        urls=["https://x"], annotations={"k": "v"}, artifact_type="application/y",
        platform=Platform("arm64", "linux", variant="v8", os_features=["f"]),
    )
    assert descriptor.digest == Digest("sha256", "a" * 64)
    assert descriptor.urls == ("https://x",)
    assert descriptor.platform.os_features == ("f",)
    assert hash(descriptor) == hash(copy.deepcopy(descriptor))
    assert descriptor != Descriptor("application/x", "sha256:" + "a" * 64, 3)
    assert descriptor.to_json() == {
        "mediaType": "application/x",
        "artifactType": "application/y",
        "digest": "sha256:" + "a" * 64,
        "size": 3,
        "urls": ["https://x"],
        "annotations": {"k": "v"},
        "platform": {"architecture": "arm64", "os": "linux", "os.features": ["f"], "variant": "v8"},
    }
    assert Descriptor("a/b", Digest.of(b""), 0).to_json() == {
        "mediaType": "a/b", "digest": str(Digest.of(b"")), "size": 0,
    }


# --- robustness: whatever comes in, only OciError goes out --------------------------

_SAMPLES = [oci_manifest, docker_manifest, oci_index, docker_manifest_list, artifact]
_JUNK = [
    None, True, False, 0, -1, 2**64, 1.5, -0.0, 1e308, "", "x", "\u0000", "\ud800",
    "sha256:" + "a" * 64, [], [None], [[[]]], {}, {"mediaType": None}, {"": ""},
]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _mutate(doc, rng):
    path = rng.choice(list(_paths(doc))[1:])
    target = doc
    for key in path[:-1]:
        target = target[key]
    if rng.random() < 0.2:
        del target[path[-1]]
    else:
        target[path[-1]] = copy.deepcopy(rng.choice(_JUNK))


def _parse_or_oci_error(content_type, raw):
    try:
        parse_manifest(content_type, raw)
    except OciError as error:
        assert error.code in (Code.MANIFEST_INVALID, Code.SIZE_INVALID)


def test_fuzz_mutated_manifests():
    rng = random.Random(1234)
    content_types = [None, "", "application/json", *mt.MANIFEST_TYPES, *mt.SCHEMA1_TYPES]
    for _ in range(1500):
        doc = rng.choice(_SAMPLES)()
        for _ in range(rng.randint(1, 3)):
            _mutate(doc, rng)
        _parse_or_oci_error(rng.choice(content_types), json.dumps(doc).encode())


def test_fuzz_random_bytes():
    rng = random.Random(99)
    valid = encode(oci_manifest())
    for _ in range(500):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        _parse_or_oci_error(None, garbage)
        cut = rng.randrange(len(valid))
        _parse_or_oci_error(mt.OCI_MANIFEST, valid[:cut] + garbage + valid[cut + len(garbage):])


@pytest.mark.parametrize(
    "raw",
    [
        b'{"schemaVersion": 2, "config": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"schemaVersion": 2, "annotations": {"k": "v\\ud800"}, "config": {}, "layers": []}',
        b'{"schemaVersion": 2, "manifests": [' + b"{}," * 1000 + b"{}]}",
        b'{"schemaVersion": 99999999999999999999999999999999}',
        b'{"schemaVersion": 2, "mediaType": {"$ne": null}}',
        b'{"schemaVersion": 2, "layers": [], "config": {"mediaType": "a/b", "digest": null, "size": 1}}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": {}}',
        b"\x00" * 100,
        b"   ",
    ],
)
def test_weird_shapes(raw):
    with pytest.raises(OciError) as info:
        parse_manifest(None, raw)
    assert info.value.code is Code.MANIFEST_INVALID
