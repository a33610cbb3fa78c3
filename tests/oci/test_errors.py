import json
import pickle

import pytest

from chalicelib.oci import Code, Digest, OciError, error_body

# (code, status, default message) as registered by the spec and Distribution.
EXPECTED = [
    (Code.BLOB_UNKNOWN, 404, "blob unknown to registry"),
    (Code.BLOB_UPLOAD_INVALID, 400, "blob upload invalid"),
    (Code.BLOB_UPLOAD_UNKNOWN, 404, "blob upload unknown to registry"),
    (Code.DIGEST_INVALID, 400, "provided digest did not match uploaded content"),
    (Code.MANIFEST_BLOB_UNKNOWN, 404, "manifest references a manifest or blob unknown to registry"),
    (Code.MANIFEST_INVALID, 400, "manifest invalid"),
    (Code.MANIFEST_UNKNOWN, 404, "manifest unknown to registry"),
    (Code.NAME_INVALID, 400, "invalid repository name"),
    (Code.NAME_UNKNOWN, 404, "repository name not known to registry"),
    (Code.SIZE_INVALID, 400, "provided length did not match content length"),
    (Code.UNAUTHORIZED, 401, "authentication required"),
    (Code.DENIED, 403, "requested access to the resource is denied"),
    (Code.UNSUPPORTED, 405, "the operation is unsupported"),
    (Code.TOOMANYREQUESTS, 429, "too many requests"),
    (Code.TAG_INVALID, 400, "manifest tag did not match URI"),
    (Code.RANGE_INVALID, 416, "invalid content range"),
    (Code.PAGINATION_NUMBER_INVALID, 400, "invalid number of results requested"),
    (Code.UNAVAILABLE, 503, "service unavailable"),
]


@pytest.mark.parametrize("code, status, message", EXPECTED)
def test_codes(code, status, message):
    assert code.code == code.name
    assert code.status == status
    assert code.message == message


def test_every_code_is_covered():
    assert {row[0] for row in EXPECTED} == set(Code)


def test_defaults_come_from_the_code():
    err = OciError(Code.BLOB_UNKNOWN)
    assert err.code is Code.BLOB_UNKNOWN
    assert err.detail is None
    assert err.message == "blob unknown to registry"
    assert err.status == 404
    assert str(err) == err.message


def test_overrides():
    err = OciError(Code.SIZE_INVALID, detail={"limit": 1}, message="too big", status=413)
    assert (err.detail, err.message, err.status, str(err)) == ({"limit": 1}, "too big", 413, "too big")


def test_is_an_exception():
    with pytest.raises(OciError) as info:
        raise OciError(Code.DENIED)
    assert info.value.status == 403


def test_pickle_keeps_every_field():
    err = OciError(Code.UNSUPPORTED, detail=["x"], message="nope", status=404)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.detail, copy.message, copy.status) == (Code.UNSUPPORTED, ["x"], "nope", 404)


def test_error_body_shape():
    body = error_body(
        OciError(Code.BLOB_UNKNOWN, detail={"digest": "sha256:abc"}),
        OciError(Code.DENIED, message="push denied"),
    )
    assert json.loads(body) == {
        "errors": [
            {"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": {"digest": "sha256:abc"}},
            {"code": "DENIED", "message": "push denied"},
        ]
    }
    assert b'", "' not in body and b'": ' not in body  # compact separators


def test_error_body_keeps_falsy_details_and_is_compact():
    assert error_body(OciError(Code.NAME_UNKNOWN, detail="")) == (
        b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":""}]}'
    )


def test_error_body_renders_values_that_are_not_json():
    digest = Digest.of(b"")
    body = json.loads(error_body(OciError(Code.BLOB_UNKNOWN, detail={"digest": digest})))
    assert body["errors"][0]["detail"] == {"digest": str(digest)}


def test_error_body_without_errors():
    assert json.loads(error_body()) == {"errors": []}
