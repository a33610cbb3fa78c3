"""The function as Lambda calls it: API Gateway REST proxy events in, proxy responses out."""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

import pytest

from chalicelib.auth.scopes import parse_scopes
from chalicelib.auth.service import Credentials
from chalicelib.local.events import LambdaContext, rest_event
from tests.moto_services import moto_services


@dataclass(frozen=True)
class Function:
    app: object
    token: str  # the administrator's token for library/ev
    services: object


@pytest.fixture
def function(monkeypatch):
    with moto_services(MOORAGE_MAX_REQUEST_BODY="1000000") as services:
        monkeypatch.setattr("app.default_services", lambda: services)
        import app
        services.auth.principals.ensure_admin("admin", "a-long-admin-password")
        admin = services.auth.login(Credentials("admin", "a-long-admin-password"))
        token = services.auth.issue(admin, parse_scopes(["repository:library/ev:pull,push,delete"]))["token"]
        yield Function(app.app, token, services)


def call(function: Function, method: str, path: str, body: bytes = b"", query: str = "", headers=None,
         authorized: bool = True) -> dict:
    resource = "/v2" if path in ("/v2", "/v2/") else "/v2/{proxy+}"
    params = {} if resource == "/v2" else {"proxy": path[len("/v2/"):]}
    headers = {**({"Authorization": f"Bearer {function.token}"} if authorized else {}), **(headers or {})}
    event = rest_event(method, path, query, list(headers.items()), body, "127.0.0.1", resource, params,
                       frozenset({"application/json"}))
    return function.app(event, LambdaContext(event["requestContext"]["requestId"]))


def body_of(response: dict) -> bytes:
    body = response["body"] or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def test_base_route_answers_with_the_api_version(function):
    response = call(function, "GET", "/v2")
    assert response["statusCode"] == 200
    assert response["headers"]["Docker-Distribution-API-Version"] == "registry/2.0"


def test_blob_push_head_and_redirected_get(function):
    data = b"\x00\xff binary layer bytes \x80"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pushed = call(function, "POST", "/v2/library/ev/blobs/uploads/", data, f"digest={digest}",
                  {"Content-Type": "application/octet-stream"})
    assert pushed["statusCode"] == 201, body_of(pushed)
    head = call(function, "HEAD", f"/v2/library/ev/blobs/{digest}")
    # API Gateway may rewrite Content-Length on HEAD (CONSTRAINTS.md): the function must set it.
    assert head["headers"]["Content-Length"] == str(len(data))
    assert head["headers"]["Docker-Content-Digest"] == digest
    assert body_of(head) == b""
    get = call(function, "GET", f"/v2/library/ev/blobs/{digest}")
    assert get["statusCode"] == 307
    assert "X-Amz-Signature=" in get["headers"]["Location"]
    assert body_of(get) == b""  # the bytes never pass through the function


def test_manifest_bytes_round_trip_as_text(function):
    config = b"{}"
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    call(function, "POST", "/v2/library/ev/blobs/uploads/", config, f"digest={digest}",
         {"Content-Type": "application/octet-stream"})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest,
                                      "size": 2},
                           "layers": [], "annotations": {"note": "caf\u00e9 \u2603"}},
                          ensure_ascii=False).encode()
    put = call(function, "PUT", "/v2/library/ev/manifests/1", manifest,
               headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert put["statusCode"] == 201, body_of(put)
    got = call(function, "GET", "/v2/library/ev/manifests/1",
               headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert not got.get("isBase64Encoded")
    assert body_of(got) == manifest
    assert got["headers"]["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(manifest).hexdigest()


def test_body_over_the_request_limit_is_413_with_both_ways_around(function):
    response = call(function, "PATCH", "/v2/library/ev/blobs/uploads/1-abc", b"x" * 1_000_001,
                    headers={"Content-Type": "application/octet-stream"})
    assert response["statusCode"] == 413
    error = json.loads(body_of(response))["errors"][0]
    assert error["code"] == "SIZE_INVALID"
    assert "moorage gateway" in error["message"] and "moorage push" in error["message"]


def test_unknown_method_gets_the_spec_error_body(function):
    response = call(function, "OPTIONS", "/v2/library/ev/tags/list")
    assert response["statusCode"] == 405
    assert json.loads(body_of(response))["errors"][0]["code"] == "UNSUPPORTED"


def test_without_a_token_the_function_answers_the_bearer_challenge(function):
    response = call(function, "GET", "/v2/library/ev/tags/list", authorized=False)
    assert response["statusCode"] == 401
    assert json.loads(body_of(response))["errors"][0]["code"] == "UNAUTHORIZED"
    challenge = response["headers"]["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="') and 'scope="repository:library/ev:pull"' in challenge


def test_an_expired_token_is_refused_and_a_fresh_one_accepted(function):
    assert call(function, "GET", "/v2/library/ev/tags/list")["statusCode"] == 404  # valid: NAME_UNKNOWN
    function.services.clock.advance(minutes=6)  # tokens live 5 minutes, with 30 s of leeway
    response = call(function, "GET", "/v2/library/ev/tags/list")
    assert response["statusCode"] == 401
    assert json.loads(body_of(response))["errors"][0]["message"] == "invalid token: expired"
    assert 'error="invalid_token"' in response["headers"]["WWW-Authenticate"]


def test_the_realm_names_the_stage_behind_api_gateway(function):
    event = rest_event("GET", "/v2/", "", [("Host", "abc.execute-api.eu-west-1.amazonaws.com"),
                                           ("X-Forwarded-Proto", "https")], b"", "127.0.0.1", "/v2", {},
                       frozenset({"application/json"}))
    event["requestContext"].update(domainName="abc.execute-api.eu-west-1.amazonaws.com", stage="api")
    response = function.app(event, LambdaContext(event["requestContext"]["requestId"]))
    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"].startswith(
        'Bearer realm="https://abc.execute-api.eu-west-1.amazonaws.com/api/token"')
