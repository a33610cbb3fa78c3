"""The API function: Chalice routes and (later) event handlers. Nothing else lives here."""
from __future__ import annotations

from chalice import Chalice, Rate, Response

from chalicelib.admin import http as admin_http
from chalicelib.oci import BINARY_BODY_TYPES
from chalicelib.registry.http import dispatch as registry_http
from chalicelib.registry.http.base import Request
from chalicelib.services import default_services

app = Chalice(app_name="moorage")
# Blob bodies are binary; manifests stay text (UTF-8 JSON) so that any client, whatever its
# Accept header, gets them byte-exact from API Gateway.
app.api.binary_types = sorted(BINARY_BODY_TYPES)

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Registry clients send any Content-Type (or none) on uploads; handlers validate bodies themselves.
_ANY = ["*/*"]


def _request(path: str) -> Request:
    """Read Chalice's (process-global) current request once into an immutable value."""
    current = app.current_request
    event = current.to_original_event()
    headers = event.get("multiValueHeaders") or {k: [v] for k, v in (event.get("headers") or {}).items()}
    query = event.get("multiValueQueryStringParameters") or {
        k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
    body = current.raw_body or b""
    context = event.get("requestContext") or {}
    return Request(
        method=current.method.upper(), path=path,
        query={k: tuple(v) for k, v in query.items()},
        headers={k.lower(): tuple(v) for k, v in headers.items()},
        body=body if isinstance(body, bytes) else body.encode(),
        source_ip=(context.get("identity") or {}).get("sourceIp", ""),
        request_id=context.get("requestId", ""),
    )


def _respond(dispatch, path: str) -> Response:
    result = dispatch(_request(path), default_services())
    headers = dict(result.headers)
    body: bytes | str = result.body
    if headers.get("Content-Type", "").split(";")[0] not in BINARY_BODY_TYPES:
        body = result.body.decode("utf-8")
    return Response(body=body, headers=headers, status_code=result.status)


@app.route("/v2", methods=_METHODS, content_types=_ANY)
def v2_root() -> Response:
    return _respond(registry_http.dispatch, "/")


@app.route("/v2/{proxy+}", methods=_METHODS, content_types=_ANY)
def v2() -> Response:
    return _respond(registry_http.dispatch, "/" + app.current_request.uri_params["proxy"])


@app.route("/api/v1/{proxy+}", methods=_METHODS, content_types=_ANY)
def api_v1() -> Response:
    return _respond(admin_http.dispatch, "/" + app.current_request.uri_params["proxy"])


@app.schedule(Rate(1, unit=Rate.HOURS), name="sweep_uploads")
def sweep_uploads(event) -> None:
    """Abort upload sessions that expired, with their multipart uploads and carry-over bytes."""
    default_services().uploads.sweep_expired()
