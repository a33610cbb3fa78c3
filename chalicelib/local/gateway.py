"""The moorage gateway: a WSGI app that plays API Gateway in front of the Chalice function.

Each HTTP request becomes a REST proxy event and one call of the function, concurrently and
with a thread-local current request (as `chalice local` does). A request body larger than one
function call may carry (a whole layer in one PATCH, PUT or POST, as docker, containerd,
skopeo and oras send it) is streamed in bounded pieces: each piece becomes a PATCH of the
upload session, and the request's own method closes it. Memory stays flat whatever the size.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from typing import Callable, Iterator
from urllib.parse import quote, unquote

from chalicelib.oci import MAX_MANIFEST_BYTES, Code, OciError, Route, match_route
from chalicelib.registry.http.dispatch import error_response, too_large

from .events import Base64Body, LambdaContext, resource_for, response_body, rest_event

DEFAULT_PIECE_BYTES = 4 * 1024 * 1024  # fits a bare API Gateway request (~4.5 MiB raw)
FUNCTION_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Invoke = Callable[[dict, LambdaContext], dict]
log = logging.getLogger("moorage.gateway")


def thread_safe(app) -> None:
    """Give a Chalice app a thread-local current_request, as `chalice local` does, whose
    raw_body comes from the bytes the gateway encoded (events.Base64Body) rather than from
    decoding them again: the same bytes, without a base64 round trip per request."""
    from chalice.local import LocalChalice

    if isinstance(app, LocalChalice):
        return

    def set_current_request(self, request) -> None:
        body = getattr(request, "_body", None)
        if (isinstance(body, Base64Body) and getattr(request, "_is_base64_encoded", False)
                and getattr(request, "_raw_body", None) == b""):
            request._raw_body = body.raw  # what Request.raw_body would decode from the text
        LocalChalice._THREAD_LOCAL.current_request = request

    current_request = property(LocalChalice.current_request.fget, set_current_request)
    app.__class__ = type("GatewayChalice", (LocalChalice, app.__class__), {"current_request": current_request})


class Gateway:
    def __init__(self, invoke: Invoke, resources: list[str], piece_bytes: int = DEFAULT_PIECE_BYTES,
                 text_types: frozenset[str] = frozenset()):
        self._invoke = invoke
        self._resources = resources
        self._piece = piece_bytes
        self._text_types = text_types

    # ---- WSGI -------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        started = time.monotonic()
        method = environ["REQUEST_METHOD"].upper()
        path = _raw_path(environ)
        body_in = environ["wsgi.input"]
        first = _read(body_in, self._piece) if _has_body(environ) else b""
        second = _read(body_in, self._piece) if len(first) == self._piece else b""
        call = _Call(self, environ, method, path)
        if method not in FUNCTION_METHODS:  # API Gateway routes only these to the function
            response = _error(OciError(Code.UNSUPPORTED, detail={"method": method[:16]},
                                       message=f"{method[:16]} is not supported"), method)
        elif not second:
            response = call.invoke(method, path, environ.get("QUERY_STRING", ""), first)
        else:
            response = self._stream(call, _pieces(body_in, self._piece, first, second))
        status = response.get("statusCode", 502)
        headers = _response_headers(response)
        body = response_body(response)
        _log_request(environ, method, path, status, started, call.received)
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return [] if method == "HEAD" else [body]

    # ---- big bodies -------------------------------------------------------------------

    def _stream(self, call: "_Call", pieces: Iterator[bytes]) -> dict:
        try:
            match = match_route(call.path[len("/v2"):]) if call.path.startswith("/v2/") else None
        except OciError:
            match = None
        route = match.route if match else None
        query = call.environ.get("QUERY_STRING", "")
        if route is Route.UPLOAD and call.method in ("PATCH", "PUT"):
            return self._upload_pieces(call, call.path, query, pieces, close_with=call.method)
        if route is Route.UPLOAD_START and call.method == "POST":
            # Monolithic upload: open a session, stream into it, close with the digest.
            opened = call.invoke("POST", call.path, "", b"", headers_only=True)
            if opened.get("statusCode") != 202:
                return opened
            location = _header(opened, "Location") or ""
            return self._upload_pieces(call, location, query, pieces, close_with="PUT")
        _drain(pieces)
        if route is Route.MANIFEST:
            return _error(OciError(Code.SIZE_INVALID, status=413, detail={"limit": MAX_MANIFEST_BYTES},
                                   message="manifest exceeds the 4 MiB limit"), call.method)
        return _error(too_large(self._piece), call.method)

    def _upload_pieces(self, call: "_Call", path: str, query: str, pieces: Iterator[bytes], close_with: str) -> dict:
        start = _range_start(call.header("Content-Range"))
        offset = 0
        piece = next(pieces)
        for following in pieces:
            response = call.invoke("PATCH", path, "", piece, content_range=_span(start, offset, piece))
            offset += len(piece)
            piece = following
            if response.get("statusCode") != 202:
                _drain(pieces)
                return response
        if close_with == "PATCH":
            return call.invoke("PATCH", path, "", piece, content_range=_span(start, offset, piece))
        return call.invoke("PUT", path, query, piece)


class _Call:
    """Everything the events of one client request share."""

    def __init__(self, gateway: Gateway, environ, method: str, path: str):
        self.gateway, self.environ, self.method, self.path = gateway, environ, method, path
        self.received = 0
        self._headers = _request_headers(environ)

    def header(self, name: str) -> str | None:
        for key, value in self._headers:
            if key.lower() == name.lower():
                return value
        return None

    def invoke(self, method: str, path: str, query: str, body: bytes, content_range: str | None = None,
               headers_only: bool = False) -> dict:
        self.received += len(body)
        # The client's Content-Range stays unless this event carries one piece of a bigger body.
        replaced = {"content-length", "transfer-encoding"} | ({"content-range"} if content_range else set())
        headers = [(k, v) for k, v in self._headers if k.lower() not in replaced]
        if body or method in ("PUT", "PATCH", "POST"):
            headers.append(("Content-Length", str(len(body))))
        if content_range:
            headers.append(("Content-Range", content_range))
        path, _, inline_query = path.partition("?")
        query = "&".join(q for q in (inline_query, query) if q)
        decoded = unquote(path)
        found = resource_for(decoded, self.gateway._resources)
        if found is None:
            return _not_found()
        resource, params = found
        event = rest_event(method, decoded, query, headers, body, self.environ.get("REMOTE_ADDR", ""),
                           resource, params, self.gateway._text_types)
        context = LambdaContext(event["requestContext"]["requestId"])
        try:
            return self.gateway._invoke(event, context)
        except Exception:
            log.exception("function failed")
            return {"statusCode": 502, "headers": {"Content-Type": "application/json"},
                    "body": json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "function failed"}]})}


# ---- helpers ------------------------------------------------------------------------------

def _raw_path(environ) -> str:
    # PATH_INFO is decoded as latin-1 by WSGI; undo that to get the client's UTF-8 path.
    return quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/:@!$&'()*+,;=-._~")


def _has_body(environ) -> bool:
    return bool(environ.get("CONTENT_LENGTH") not in (None, "", "0")
                or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower())


def _read(stream, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _pieces(stream, size: int, *read: bytes) -> Iterator[bytes]:
    """The body in pieces of `size` bytes, the last one maybe shorter (never empty): the
    pieces already `read`, then the rest of the stream as it is consumed."""
    yield from read
    yield from iter(lambda: _read(stream, size), b"")


def _drain(pieces: Iterator[bytes]) -> None:
    for _ in pieces:
        pass


def _range_start(value: str | None) -> int | None:
    if not value:
        return None
    text = value.strip().removeprefix("bytes").strip(" =")
    start = text.split("-", 1)[0]
    return int(start) if start.isdigit() else None


def _span(start: int | None, offset: int, piece: bytes) -> str | None:
    if start is None or not piece:
        return None
    return f"{start + offset}-{start + offset + len(piece) - 1}"


def _request_headers(environ) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", environ["CONTENT_TYPE"]))
    return headers


def _header(response: dict, name: str) -> str | None:
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _response_headers(response: dict) -> list[tuple[str, str]]:
    headers = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers += [(key, str(v)) for v in values]
    # Hop-by-hop headers are the server's business.
    return [(k, v) for k, v in headers if k.lower() not in ("connection", "transfer-encoding")]


def _error(error: OciError, method: str) -> dict:
    response = error_response(error, method)
    return {"statusCode": response.status, "headers": dict(response.headers), "body": response.body.decode()}


def _not_found() -> dict:
    return {"statusCode": 404, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": {"code": "NOT_FOUND", "message": "no such endpoint"}})}


def _log_request(environ, method: str, path: str, status: int, started: float, received: int) -> None:
    # One structured line per request. Never the query string or headers: they may carry tokens.
    line = {"level": "INFO", "logger": "moorage.gateway", "method": method, "path": path, "status": status,
            "ms": round((time.monotonic() - started) * 1000, 1), "bytes_in": received,
            "client": environ.get("REMOTE_ADDR", ""), "user_agent": environ.get("HTTP_USER_AGENT", "")[:120]}
    sys.stderr.write(json.dumps(line) + "\n")


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 307: "Temporary Redirect",
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 413: "Payload Too Large", 416: "Range Not Satisfiable",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}
