"""Route a /v2/ request to its handler; translate every error into the spec's body, once."""
from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib.auth.http import authorize_v2
from chalicelib.oci import Code, OciError, Route, action_for, allowed_methods, error_body, match_route

from . import base, blobs, catalog, manifests, referrers, tags, uploads
from .base import API_VERSION, Notice, Request, Response

logger = logging.getLogger(__name__)

HANDLERS = {
    Route.BASE: base.HANDLERS,
    Route.CATALOG: catalog.HANDLERS,
    Route.TAGS: tags.HANDLERS,
    Route.MANIFEST: manifests.HANDLERS,
    Route.BLOB: blobs.HANDLERS,
    Route.UPLOAD_START: uploads.START_HANDLERS,
    Route.UPLOAD: uploads.HANDLERS,
    Route.REFERRERS: referrers.HANDLERS,
}


def dispatch(request: Request, services) -> Response:
    try:
        match = match_route(request.path)
        handler = HANDLERS[match.route].get(request.method)
        if handler is None or action_for(match.route, request.method) is None:
            allowed = ", ".join(allowed_methods(match.route))
            raise OciError(Code.UNSUPPORTED, detail={"method": request.method, "allowed": allowed},
                           message=f"{request.method} is not supported on this endpoint (allowed: {allowed})")
        if len(request.body) > services.settings.max_request_body:
            raise too_large(services.settings.max_request_body)
        return handler(authorize_v2(request, match, services), match, services)
    except OciError as error:
        return _with_denial(error_response(error, request.method), error, request)
    except Exception:  # never a 500 or a traceback for the client; the log keeps the details
        logger.exception("unhandled error", extra={"request_id": request.request_id})
        return error_response(OciError(Code.UNAVAILABLE, detail={"request_id": request.request_id}),
                              request.method)


def _with_denial(response: Response, error: OciError, request: Request) -> Response:
    """A refused credential or scope is an audit event; a first request without any token is
    just the challenge every client starts with."""
    if error.status not in (401, 403) or not request.header("authorization"):
        return response
    subject = error.detail.get("subject", "anonymous") if isinstance(error.detail, dict) else "anonymous"
    notice = Notice("access.denied", subject, _name(request), result="denied",
                    details={"status": error.status, "reason": error.message, "method": request.method,
                             "path": request.path[:512]})
    return replace(response, notice=notice)


def _name(request: Request) -> str | None:
    try:
        return str(match_route(request.path).name or "") or None
    except OciError:
        return None


def too_large(limit: int) -> OciError:
    return OciError(Code.SIZE_INVALID, status=413, detail={"limit": limit},
                    message=f"request body exceeds the {limit}-byte limit of a single function request; "
                            "push through the moorage gateway (any size) or with `moorage push` "
                            "(direct to storage), or send the blob in chunks with PATCH")


def error_response(error: OciError, method: str) -> Response:
    body = error_body(error)
    headers = {**API_VERSION, "Content-Type": "application/json", "Content-Length": str(len(body))}
    headers.update(error.headers)
    if error.status == 405 and isinstance(error.detail, dict) and "allowed" in error.detail:
        headers["Allow"] = error.detail["allowed"]
    return Response(error.status, headers, b"" if method == "HEAD" else body)
