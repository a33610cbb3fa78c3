"""Malformed requests: each one gets a 4xx with the spec's error body (none on HEAD),
never a 5xx, and leaves the registry as it was (tags, catalog, manifest and blobs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from tests.registry.helpers import MIB, assert_error, assert_not_5xx, sha256, snapshot, unchanged, unique_repo
from tests.support.images import OCI

HEX = "a" * 64


@dataclass
class Case:
    method: str
    path: str  # sent as is; {repo} is the victim repository, {upload} a live upload session
    status: int
    codes: tuple[str, ...] = ()
    body: bytes | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    marks: tuple = ()


def case(id_: str, *args, marks=(), **kwargs):
    return pytest.param(Case(*args, **kwargs), id=id_, marks=marks)


def manifest_doc(**overrides) -> dict:
    doc = {"schemaVersion": 2, "mediaType": OCI.manifest,
           "config": {"mediaType": OCI.config, "digest": "sha256:" + HEX, "size": 2},
           "layers": [{"mediaType": OCI.layer, "digest": "sha256:" + "b" * 64, "size": 3}]}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def put_manifest(id_: str, body: bytes, status: int = 400, codes=("MANIFEST_INVALID",),
                 content_type: str = OCI.manifest, reference: str = "keep", marks=()):
    headers = [("Content-Type", content_type)] if content_type else []
    return case(id_, "PUT", f"/v2/{{repo}}/manifests/{reference}", status, tuple(codes), body=body,
                headers=headers, marks=marks)


J = lambda value: json.dumps(value).encode()  # noqa: E731

NAMES = [
    case("uppercase", "GET", "/v2/library/Upper/tags/list", 400, ("NAME_INVALID",)),
    case("uppercase-registry", "GET", "/v2/Library/x/manifests/latest", 400, ("NAME_INVALID",)),
    case("dot-dot", "GET", "/v2/library/../x/tags/list", 400, ("NAME_INVALID",)),
    case("dot-dot-last", "GET", "/v2/library/x/../manifests/latest", 400, ("NAME_INVALID",)),
    case("double-dot-separator", "GET", "/v2/library/a..b/tags/list", 400, ("NAME_INVALID",)),
    case("empty-segment", "GET", "/v2/library//b/tags/list", 400, ("NAME_INVALID",)),
    case("leading-slash", "GET", "/v2//library/x/tags/list", 400, ("NAME_INVALID",)),
    case("trailing-slash", "GET", "/v2/library/x//tags/list", 400, ("NAME_INVALID",)),
    case("leading-dash", "GET", "/v2/library/-x/tags/list", 400, ("NAME_INVALID",)),
    case("trailing-separator", "GET", "/v2/library/x_/tags/list", 400, ("NAME_INVALID",)),
    case("too-long", "GET", "/v2/library/" + "a" * 250 + "/tags/list", 400, ("NAME_INVALID",)),
    case("too-long-components", "GET", "/v2/library/" + "a/" * 200 + "tags/list", 400, ("NAME_INVALID",)),
    case("no-registry-tags", "GET", "/v2/hello/tags/list", 400, ("NAME_INVALID",)),
    case("no-registry-manifest", "GET", "/v2/hello/manifests/latest", 400, ("NAME_INVALID",)),
    case("no-registry-head", "HEAD", "/v2/hello/manifests/latest", 400),
    case("no-registry-upload", "POST", "/v2/hello/blobs/uploads/", 400, ("NAME_INVALID",)),
    case("no-registry-blob", "GET", f"/v2/hello/blobs/sha256:{HEX}", 400, ("NAME_INVALID",)),
    case("space", "GET", "/v2/library/a%20b/tags/list", 400, ("NAME_INVALID",)),
    # Percent-encoded tricks: decoded before the name is judged.
    case("pct-dot-dot", "GET", "/v2/library/%2e%2e/tags/list", 400, ("NAME_INVALID",)),
    case("pct-dot-dot-upper", "GET", "/v2/library/%2E%2E/x/manifests/latest", 400, ("NAME_INVALID",)),
    case("pct-dot-dot-catalog", "GET", "/v2/%2e%2e/_catalog", 404, ("UNSUPPORTED",)),
    case("pct-nul", "GET", "/v2/library/a%00b/tags/list", 400, ("NAME_INVALID",)),
    case("pct-slash", "GET", "/v2/library/a%2Fb/tags/list", 400, ("NAME_INVALID",)),
    case("pct-utf8", "GET", "/v2/library/%C3%A9/tags/list", 400, ("NAME_INVALID",)),
    case("pct-not-utf8", "GET", "/v2/library/%FF%FE/tags/list", 400, ("NAME_INVALID",)),
    case("pct-newline", "GET", "/v2/library/a%0d%0ab/tags/list", 400, ("NAME_INVALID",)),
    case("pct-nul-tag", "GET", "/v2/{repo}/manifests/a%00b", 400, ("TAG_INVALID",)),
    case("tag-too-long", "GET", "/v2/{repo}/manifests/" + "t" * 129, 400, ("TAG_INVALID",)),
]

DIGESTS = [
    case("blob-short", "GET", "/v2/{repo}/blobs/sha256:abc", 400, ("DIGEST_INVALID",)),
    case("blob-uppercase-hex", "GET", "/v2/{repo}/blobs/sha256:" + HEX.upper(), 400, ("DIGEST_INVALID",)),
    case("blob-65-hex", "GET", "/v2/{repo}/blobs/sha256:" + HEX + "a", 400, ("DIGEST_INVALID",)),
    case("blob-no-colon", "GET", "/v2/{repo}/blobs/" + HEX, 400, ("DIGEST_INVALID",)),
    case("blob-no-algorithm", "GET", "/v2/{repo}/blobs/:" + HEX, 400, ("DIGEST_INVALID",)),
    case("blob-md5", "GET", "/v2/{repo}/blobs/md5:" + "a" * 32, 400, ("DIGEST_INVALID",)),
    case("blob-sha384", "GET", "/v2/{repo}/blobs/sha384:" + "a" * 96, 400, ("DIGEST_INVALID",)),
    case("blob-nul", "GET", "/v2/{repo}/blobs/sha256:" + HEX + "%00", 400, ("DIGEST_INVALID",)),
    case("blob-not-utf8", "GET", "/v2/{repo}/blobs/%FF%FF", 400, ("DIGEST_INVALID",)),
    case("blob-huge", "GET", "/v2/{repo}/blobs/sha256:" + "a" * 5000, 400, ("DIGEST_INVALID",)),
    case("blob-head", "HEAD", "/v2/{repo}/blobs/sha256:abc", 400),
    case("blob-delete", "DELETE", "/v2/{repo}/blobs/not-a-digest", 400, ("DIGEST_INVALID",)),
    case("manifest-short", "GET", "/v2/{repo}/manifests/sha256:abc", 400, ("DIGEST_INVALID",)),
    case("manifest-md5", "GET", "/v2/{repo}/manifests/md5:" + "a" * 32, 400, ("DIGEST_INVALID",)),
    case("manifest-head", "HEAD", "/v2/{repo}/manifests/sha256:zz", 400),
    case("manifest-delete", "DELETE", "/v2/{repo}/manifests/sha256:zz", 400, ("DIGEST_INVALID",)),
    case("manifest-put", "PUT", "/v2/{repo}/manifests/sha256:zz", 400, ("DIGEST_INVALID",), body=b"{}",
         headers=[("Content-Type", OCI.manifest)]),
    case("referrers", "GET", "/v2/{repo}/referrers/sha256:zz", 400, ("DIGEST_INVALID",)),
    case("referrers-md5", "GET", "/v2/{repo}/referrers/md5:" + "a" * 32, 400, ("DIGEST_INVALID",)),
    case("post-digest-garbage", "POST", "/v2/{repo}/blobs/uploads/?digest=garbage", 400, ("DIGEST_INVALID",),
         body=b"x"),
    case("post-digest-md5", "POST", "/v2/{repo}/blobs/uploads/?digest=md5:" + "a" * 32, 400,
         ("DIGEST_INVALID",), body=b"x"),
    case("put-digest-garbage", "PUT", "/v2/{repo}/blobs/uploads/{upload}?digest=garbage", 400,
         ("DIGEST_INVALID",), body=b"x"),
    case("put-digest-sha512", "PUT", "/v2/{repo}/blobs/uploads/{upload}?digest=sha512:" + "a" * 128, 400,
         ("DIGEST_INVALID",), body=b"x"),
    case("put-digest-empty", "PUT", "/v2/{repo}/blobs/uploads/{upload}?digest=", 400, ("DIGEST_INVALID",),
         body=b"x"),
]

RANGES = [
    case("range-garbage", "PATCH", "/v2/{repo}/blobs/uploads/{upload}", 416, body=b"abcd",
         headers=[("Content-Range", "garbage")]),
    case("range-backwards", "PATCH", "/v2/{repo}/blobs/uploads/{upload}", 416, body=b"abcd",
         headers=[("Content-Range", "10-5")]),
    case("range-not-at-zero", "PATCH", "/v2/{repo}/blobs/uploads/{upload}", 416, body=b"abcd",
         headers=[("Content-Range", "4-7")]),
    case("range-longer-than-body", "PATCH", "/v2/{repo}/blobs/uploads/{upload}", 416, body=b"abcd",
         headers=[("Content-Range", "0-99")]),
    case("range-huge-numbers", "PATCH", "/v2/{repo}/blobs/uploads/{upload}", 416, body=b"abcd",
         headers=[("Content-Range", "0-99999999999999999999999")]),
    case("range-without-body", "PATCH", "/v2/{repo}/blobs/uploads/{upload}", 416, body=b"",
         headers=[("Content-Range", "0-3")]),
]

UPLOADS = [
    case("upload-unknown-get", "GET", "/v2/{repo}/blobs/uploads/499003-" + "0" * 32, 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-unknown-uuid", "GET", "/v2/{repo}/blobs/uploads/" + "0" * 32, 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-unknown-patch", "PATCH", "/v2/{repo}/blobs/uploads/" + "0" * 32, 404, ("BLOB_UPLOAD_UNKNOWN",),
         body=b"abc"),
    case("upload-unknown-put", "PUT", "/v2/{repo}/blobs/uploads/" + "0" * 32 + "?digest=" + sha256(b"abc"), 404,
         ("BLOB_UPLOAD_UNKNOWN",), body=b"abc"),
    case("upload-unknown-delete", "DELETE", "/v2/{repo}/blobs/uploads/" + "0" * 32, 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-garbage-dollar", "GET", "/v2/{repo}/blobs/uploads/$$$", 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-garbage-dots", "PATCH", "/v2/{repo}/blobs/uploads/..", 404, ("BLOB_UPLOAD_UNKNOWN",), body=b"x"),
    case("upload-garbage-nul", "DELETE", "/v2/{repo}/blobs/uploads/a%00b", 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-garbage-long", "GET", "/v2/{repo}/blobs/uploads/" + "a" * 300, 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-garbage-not-utf8", "GET", "/v2/{repo}/blobs/uploads/%FF%FE", 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-garbage-hash", "GET", "/v2/{repo}/blobs/uploads/%23x", 404, ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-of-another-repo", "GET", "/v2/library/not-the-same-repo/blobs/uploads/{upload}", 404,
         ("BLOB_UPLOAD_UNKNOWN",)),
    case("upload-of-another-registry", "PATCH", "/v2/nosuch/repo/blobs/uploads/{upload}", 404,
         ("BLOB_UPLOAD_UNKNOWN", "NAME_UNKNOWN"), body=b"x"),
]

MANIFESTS = [
    put_manifest("json-garbage", b"{not json"),
    put_manifest("json-truncated", J(manifest_doc())[:-5]),
    put_manifest("json-array", b"[]"),
    put_manifest("json-string", b'"manifest"'),
    put_manifest("json-null", b"null"),
    put_manifest("json-nan", J(manifest_doc())[:-1] + b',"annotations":{"x":NaN}}'),
    put_manifest("json-duplicate-keys", J(manifest_doc())[:-1] + b',"schemaVersion":2}'),
    put_manifest("json-not-utf8", b'{"schemaVersion":2,"x":"\xff\xfe"}'),
    put_manifest("json-bom", b"\xef\xbb\xbf" + J(manifest_doc())),
    put_manifest("json-deep", b"[" * 100_000 + b"]" * 100_000),
    put_manifest("json-huge-number", J(manifest_doc())[:-1] + b',"x":' + b"9" * 5000 + b"}"),
    put_manifest("empty-body", b""),
    put_manifest("whitespace-body", b"   \n"),
    put_manifest("schema-version-3", J(manifest_doc(schemaVersion=3))),
    put_manifest("schema-version-string", J(manifest_doc(schemaVersion="2"))),
    put_manifest("no-config", J(manifest_doc(config=None))),
    put_manifest("config-not-object", J(manifest_doc(config="sha256:" + HEX))),
    put_manifest("layers-not-list", J(manifest_doc(layers={"a": 1}))),
    put_manifest("layer-bad-digest", J(manifest_doc(layers=[{"mediaType": OCI.layer, "digest": "sha256:zz",
                                                              "size": 1}])),
                 codes=("MANIFEST_INVALID", "DIGEST_INVALID")),
    put_manifest("layer-negative-size", J(manifest_doc(layers=[{"mediaType": OCI.layer, "digest": "sha256:" + HEX,
                                                                 "size": -1}]))),
    put_manifest("layer-size-string", J(manifest_doc(layers=[{"mediaType": OCI.layer, "digest": "sha256:" + HEX,
                                                               "size": "1"}]))),
    put_manifest("unknown-media-type", J(manifest_doc(mediaType="application/vnd.example.unknown+json")),
                 content_type="application/vnd.example.unknown+json"),
    put_manifest("content-type-mismatch", J(manifest_doc()), content_type=OCI.index),
    put_manifest("index-with-config", J({"schemaVersion": 2, "mediaType": OCI.index, "manifests": [],
                                         "config": manifest_doc()["config"]}), content_type=OCI.index),
    put_manifest("index-child-bad-digest", J({"schemaVersion": 2, "mediaType": OCI.index,
                                              "manifests": [{"mediaType": OCI.manifest, "digest": "x", "size": 1}]}),
                 content_type=OCI.index, codes=("MANIFEST_INVALID", "DIGEST_INVALID")),
    put_manifest("schema1", J({"schemaVersion": 1, "name": "library/x", "tag": "keep", "fsLayers": []}),
                 content_type="application/vnd.docker.distribution.manifest.v1+prettyjws"),
    put_manifest("missing-blobs", J(manifest_doc()), status=404, codes=("MANIFEST_BLOB_UNKNOWN",)),
    put_manifest("bad-tag", J(manifest_doc()), reference="-bad", codes=("TAG_INVALID",)),
    put_manifest("tag-too-long", J(manifest_doc()), reference="t" * 129, codes=("TAG_INVALID",)),
    put_manifest("oversized", b'{"schemaVersion":2,"x":"' + b"x" * (4 * MIB) + b'"}', status=413,
                 codes=("SIZE_INVALID", "MANIFEST_INVALID")),
]

METHODS = [
    case("post-manifest", "POST", "/v2/{repo}/manifests/keep", 405, ("UNSUPPORTED",)),
    case("patch-manifest", "PATCH", "/v2/{repo}/manifests/keep", 405, ("UNSUPPORTED",), body=b"{}"),
    case("put-blob", "PUT", f"/v2/{{repo}}/blobs/sha256:{HEX}", 405, ("UNSUPPORTED",), body=b"x"),
    case("post-blob", "POST", f"/v2/{{repo}}/blobs/sha256:{HEX}", 405, ("UNSUPPORTED",)),
    case("put-tags", "PUT", "/v2/{repo}/tags/list", 405, ("UNSUPPORTED",), body=b"{}"),
    case("delete-tags", "DELETE", "/v2/{repo}/tags/list", 405, ("UNSUPPORTED",)),
    case("post-catalog", "POST", "/v2/_catalog", 405, ("UNSUPPORTED",)),
    case("delete-base", "DELETE", "/v2/", 405, ("UNSUPPORTED",)),
    case("get-uploads", "GET", "/v2/{repo}/blobs/uploads/", 405, ("UNSUPPORTED",)),
    case("put-uploads", "PUT", "/v2/{repo}/blobs/uploads/", 405, ("UNSUPPORTED",), body=b"x"),
    case("delete-referrers", "DELETE", f"/v2/{{repo}}/referrers/sha256:{HEX}", 405, ("UNSUPPORTED",)),
    case("head-upload", "HEAD", "/v2/{repo}/blobs/uploads/{upload}", 405),
    case("post-upload", "POST", "/v2/{repo}/blobs/uploads/{upload}", 405, ("UNSUPPORTED",)),
]

ROUTES = [
    case("unknown-route", "GET", "/v2/{repo}/unknown/thing", 404),
    case("tags-trailing-slash", "GET", "/v2/{repo}/tags/list/", 404),
    case("manifests-no-reference", "GET", "/v2/{repo}/manifests/", 404),
    case("blobs-no-digest", "GET", "/v2/{repo}/blobs/", 404),
    case("referrers-no-digest", "GET", "/v2/{repo}/referrers/", 404),
    case("catalog-extra", "GET", "/v2/_catalog/extra", 404),
]

QUERIES = [
    case("tags-n-letters", "GET", "/v2/{repo}/tags/list?n=abc", 400, ("PAGINATION_NUMBER_INVALID",)),
    case("tags-n-negative", "GET", "/v2/{repo}/tags/list?n=-1", 400, ("PAGINATION_NUMBER_INVALID",)),
    case("tags-n-huge", "GET", "/v2/{repo}/tags/list?n=" + "9" * 40, 400, ("PAGINATION_NUMBER_INVALID",)),
    case("tags-n-not-utf8", "GET", "/v2/{repo}/tags/list?n=%FF", 400, ("PAGINATION_NUMBER_INVALID",)),
    case("catalog-n-letters", "GET", "/v2/_catalog?n=abc", 400, ("PAGINATION_NUMBER_INVALID",)),
]

MISSING_BODIES = [
    case("post-digest-no-body", "POST", "/v2/{repo}/blobs/uploads/?digest=" + sha256(b"x"), 400,
         ("DIGEST_INVALID",)),
    case("put-upload-no-body", "PUT", "/v2/{repo}/blobs/uploads/{upload}?digest=" + sha256(b"x"), 400,
         ("DIGEST_INVALID",)),
    case("put-upload-no-digest", "PUT", "/v2/{repo}/blobs/uploads/{upload}", 400, ("DIGEST_INVALID",)),
    put_manifest("put-manifest-no-body", b""),
    put_manifest("put-manifest-no-content-type", b"", content_type=""),
]

ALL = NAMES + DIGESTS + RANGES + UPLOADS + MANIFESTS + METHODS + ROUTES + QUERIES + MISSING_BODIES


@pytest.fixture(scope="module")
def victim(api, seed):
    """A repository with content that no bad request may change."""
    repo = unique_repo("victim")
    api.copy_image(seed, repo, "keep")
    assert api.put_manifest(repo, "other", seed.image.manifest).status_code == 201
    return repo


@pytest.fixture(scope="module")
def baseline(api, seed, victim):
    return snapshot(api, victim, seed.image)


def writes(method: str) -> bool:
    return method not in ("GET", "HEAD")


def _send(api, repo: str, c: Case):
    path = c.path.replace("{repo}", repo)
    if "{upload}" in path:
        upload_id = api.start_upload(repo).headers["Location"].rsplit("/", 1)[1]
        path = path.replace("{upload}", upload_id)
    return api.raw(c.method, path, c.headers, c.body)


@pytest.mark.parametrize("c", ALL)
def test_bad_request(api, seed, victim, baseline, c: Case):
    response = _send(api, victim, c)
    assert_not_5xx(response)
    assert_error(response, c.status, *c.codes)
    assert response.headers.get("docker-distribution-api-version") == "registry/2.0"
    unchanged(api, victim, seed.image, baseline, writes=writes(c.method))


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND", "CONNECTX"])
def test_method_unknown_to_the_function(api, seed, victim, baseline, method):
    response = api.raw(method, f"/v2/{victim}/tags/list")
    assert_not_5xx(response)
    assert_error(response, 405, "UNSUPPORTED")
    unchanged(api, victim, seed.image, baseline)


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        pytest.param("POST", "/v2/{repo}/manifests/keep", {"GET", "HEAD", "PUT", "DELETE"}),
        pytest.param("PUT", f"/v2/{{repo}}/blobs/sha256:{HEX}", {"GET", "HEAD", "DELETE"}),
        pytest.param("DELETE", "/v2/{repo}/tags/list", {"GET"}),
    ],
)
def test_405_names_the_allowed_methods(api, victim, method, path, allowed):
    """RFC 9110 15.5.6: a 405 response MUST carry Allow."""
    response = api.raw(method, path.replace("{repo}", victim), body=b"" if method in ("PUT", "POST") else None)
    assert response.status == 405
    assert {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()} == allowed


def test_non_ascii_bytes_in_the_request_target(api, seed, victim, baseline):
    """Raw bytes that are not ASCII are not a valid request-target (RFC 9112): the HTTP
    server refuses them before any routing; a 400, never a 5xx."""
    for target in (b"/v2/library/a\xffb/tags/list", b"/v2/library/\xc3\xa9/tags/list",
                   f"/v2/{victim}/manifests/".encode() + b"\xff"):
        status, _ = api.raw_bytes(target)
        assert status == 400
    unchanged(api, victim, seed.image, baseline, writes=False)


@pytest.mark.parametrize("size", [16 * 1024, 200 * 1024])
def test_very_long_paths(api, seed, victim, baseline, size):
    for path in ("/v2/library/" + "a" * size + "/tags/list",
                 f"/v2/{victim}/manifests/" + "t" * size,
                 f"/v2/{victim}/blobs/sha256:" + "a" * size):
        response = api.raw("GET", path)
        assert_not_5xx(response)
        assert 400 <= response.status < 500
        if response.headers.get("content-type") == "application/json":
            assert_error(response, response.status)
    unchanged(api, victim, seed.image, baseline, writes=False)


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Big", "a" * (1 * 1024 * 1024))],
        [(f"X-Many-{i}", "v" * 100) for i in range(1000)],
        [("Accept", ", ".join(f"application/x-{i}" for i in range(20_000)))],
        [("Content-Range", "0-" + "9" * 10_000)],
        [("Authorization", "Bearer " + "x" * 100_000)],
    ],
    ids=["one-1MiB-header", "1000-headers", "huge-accept", "huge-content-range", "huge-authorization"],
)
def test_huge_headers(api, seed, victim, baseline, headers):
    response = api.raw("GET", f"/v2/{victim}/manifests/keep", headers)
    assert_not_5xx(response)
    # Either the server refuses the header block outright (431/400), or the request is served
    # (a huge Authorization header is no token: 401).
    assert response.status in (200, 400, 401, 404, 413, 431), response.status
    if response.status == 404:
        assert_error(response, 404, "MANIFEST_UNKNOWN")  # the huge Accept lists no manifest type
    unchanged(api, victim, seed.image, baseline, writes=False)


def test_upload_session_stays_usable_after_bad_requests(api, victim):
    """A bad request against a live session does not end or corrupt it."""
    location = api.start_upload(victim).headers["Location"]
    api.raw("PUT", location + "?digest=garbage", body=b"junk")
    api.raw("POST", location)
    api.raw("HEAD", location)
    status = api.get(api.url(location))
    assert status.status_code == 204 and status.headers["Range"] == "0-0"
    data = b"still fine"
    done = api.put(api.url(location), params={"digest": sha256(data)}, data=data,
                   headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201
    assert api.pull_blob(victim, sha256(data)) == data


def test_encoded_slash_in_a_name_gets_an_accurate_message(api, seed, victim, baseline):
    """The HTTP server keeps %2F encoded, so the name holds a literal '%2F'; refusing it is
    right, blaming the hex digit 'F' as an uppercase letter is not."""
    error = assert_error(api.raw("GET", "/v2/library/a%2Fb/tags/list"), 400, "NAME_INVALID")
    assert "uppercase" not in error["message"], error
    unchanged(api, victim, seed.image, baseline, writes=False)
