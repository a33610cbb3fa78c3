"""The local gateway in front of the function: bodies of any size arrive whole, in pieces, and
the function reads each binary piece without decoding the base64 the gateway made of it."""
from __future__ import annotations

import base64
import hashlib
import io

import pytest

from chalicelib.auth.scopes import parse_scopes
from chalicelib.auth.service import Credentials
from chalicelib.local.events import Base64Body, rest_event
from chalicelib.local.gateway import Gateway, thread_safe
from tests.moto_services import moto_services

PIECE = 256 * 1024


@pytest.fixture
def gateway(monkeypatch):
    with moto_services(MOORAGE_MAX_REQUEST_BODY=str(PIECE)) as services:
        monkeypatch.setattr("app.default_services", lambda: services)
        import app
        services.auth.principals.ensure_admin("admin", "a-long-admin-password")
        admin = services.auth.login(Credentials("admin", "a-long-admin-password"))
        token = services.auth.issue(admin, parse_scopes(["repository:library/gw:pull,push"]))["token"]
        thread_safe(app.app)
        yield Gateway(app.app, list(app.app.routes), piece_bytes=PIECE), token


def request(gateway, token: str, method: str, path: str, body: bytes = b"", query: str = "",
            chunked: bool = False) -> tuple[int, dict, bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1",
               "HTTP_HOST": "localhost", "HTTP_AUTHORIZATION": f"Bearer {token}", "wsgi.input": io.BytesIO(body),
               "CONTENT_TYPE": "application/octet-stream"}
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    started = {}

    def start_response(status, headers):
        started["status"], started["headers"] = int(status.split()[0]), dict(headers)

    content = b"".join(gateway(environ, start_response))
    return started["status"], started["headers"], content


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [10, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE, 3 * PIECE + 7])
def test_monolithic_and_streamed_uploads_arrive_whole(gateway, size):
    gateway, token = gateway
    data = bytes(range(256)) * (size // 256) + b"\x80" * (size % 256)
    status, headers, _ = request(gateway, token, "POST", "/v2/library/gw/blobs/uploads/", data,
                                 f"digest={_digest(data)}")
    assert status == 201, headers
    status, headers, _ = request(gateway, token, "HEAD", f"/v2/library/gw/blobs/{_digest(data)}")
    assert (status, headers["Content-Length"]) == (200, str(size))

    other = data + b"!"  # one PATCH carrying the whole blob, then the closing PUT
    status, headers, _ = request(gateway, token, "POST", "/v2/library/gw/blobs/uploads/")
    location = headers["Location"]
    status, headers, _ = request(gateway, token, "PATCH", location.partition("?")[0], other, chunked=True)
    assert (status, headers["Range"]) == (202, f"0-{len(other) - 1}")
    status, headers, _ = request(gateway, token, "PUT", location.partition("?")[0], b"", f"digest={_digest(other)}")
    assert status == 201, headers


def test_the_function_reads_binary_bodies_without_decoding_them(gateway, monkeypatch):
    from chalice.app import Request

    def refuse(self, encoded):
        raise AssertionError("decoded a body the gateway had as bytes")

    monkeypatch.setattr(Request, "_base64decode", refuse)
    gateway, token = gateway
    data = b"\x00\xff" * PIECE  # two pieces and more
    status, headers, _ = request(gateway, token, "POST", "/v2/library/gw/blobs/uploads/", data,
                                 f"digest={_digest(data)}")
    assert status == 201, headers


def test_binary_event_bodies_are_the_base64_text_api_gateway_sends():
    data = bytes(range(256)) * 3
    event = rest_event("PATCH", "/v2/x", "", [("Content-Type", "application/octet-stream")], data, "", "/v2/{proxy+}",
                       {"proxy": "x"})
    assert event["isBase64Encoded"] is True
    assert event["body"] == base64.b64encode(data).decode("ascii")
    assert isinstance(event["body"], str) and isinstance(event["body"], Base64Body)
    assert event["body"].raw == data
