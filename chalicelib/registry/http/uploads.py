"""/v2/<name>/blobs/uploads/[<id>]: start (with mount, monolithic and direct variants),
PATCH chunks, status, final PUT, cancel."""
from __future__ import annotations

import json

from chalicelib.auth.scopes import access_allows
from chalicelib.oci import Code, Digest, OciError, format_range, parse_content_range

from .base import Request, Response, empty, json_response, require_name

CHUNK_MIN = 5 * 1024 * 1024  # S3's part minimum: chunks at least this big need no carry-over


def _session_headers(name, session) -> dict[str, str]:
    return {"Location": f"/v2/{name}/blobs/uploads/{session.id}", "Range": format_range(session.offset),
            "Docker-Upload-UUID": session.id}


def _committed(name, digest: str) -> Response:
    return empty(201, Location=f"/v2/{name}/blobs/{digest}", Docker_Content_Digest=digest)


def _digest_param(request: Request) -> Digest:
    text = request.param("digest")
    if not text:
        raise OciError(Code.DIGEST_INVALID, message="the digest query parameter is required")
    return Digest.parse(text)


def _optional_digest(text: str) -> Digest | None:
    try:
        return Digest.parse(text)
    except OciError:
        return None  # not mountable: the spec's answer is a normal upload session


def start(request: Request, match, services) -> Response:
    name = require_name(match.name)
    uploads = services.uploads
    mount, source = request.param("mount"), request.param("from")
    # Mounting reads the source repository: without pull access there, upload normally (as the spec allows).
    if mount and source and access_allows(request.access, "repository", source, "pull"):
        mounted = uploads.mount(name, _optional_digest(mount), source, request.actor)
        if mounted:
            return _committed(name, mounted.digest)
    if (request.header("moorage-upload") or "").lower() == "direct":
        return _start_direct(request, name, services)
    if request.param("digest") is not None:  # monolithic upload in one POST
        digest = _digest_param(request)
        session = uploads.start(name, request.actor)
        committed = uploads.finish(name, session.id, digest, request.body, request.actor)
        return _committed(name, committed.digest)
    session = uploads.start(name, request.actor)
    return empty(202, **_session_headers(name, session), OCI_Chunk_Min_Length=str(CHUNK_MIN))


def _start_direct(request: Request, name, services) -> Response:
    digest = _digest_param(request)
    size_text = request.param("size") or ""
    if not size_text.isdigit():
        raise OciError(Code.SIZE_INVALID, message="direct uploads need the blob size as ?size=")
    session, target = services.uploads.start_direct(name, digest, int(size_text), request.actor)
    body = json.dumps({"url": target.single_url, "headers": target.headers, "parts": list(target.part_urls),
                       "part_size": target.part_size}).encode()
    return json_response(202, body, **_session_headers(name, session))


def patch(request: Request, match, services) -> Response:
    name = require_name(match.name)
    content_range = request.header("content-range")
    span = parse_content_range(content_range) if content_range else None
    session = services.uploads.append(name, match.upload_id, request.body, span)
    return empty(202, **_session_headers(name, session))


def put(request: Request, match, services) -> Response:
    name = require_name(match.name)
    digest = _digest_param(request)
    committed = services.uploads.finish(name, match.upload_id, digest, request.body, request.actor)
    return _committed(name, committed.digest)


def status(request: Request, match, services) -> Response:
    name = require_name(match.name)
    session = services.uploads.get(name, match.upload_id)
    return empty(204, **_session_headers(name, session))


def cancel(request: Request, match, services) -> Response:
    services.uploads.cancel(require_name(match.name), match.upload_id)
    return empty(204)


START_HANDLERS = {"POST": start}
HANDLERS = {"PATCH": patch, "PUT": put, "GET": status, "DELETE": cancel}
