"""/v2/<name>/manifests/<reference>: GET/HEAD with Accept negotiation, PUT, DELETE."""
from __future__ import annotations

from dataclasses import replace

from chalicelib.oci import Digest

from .base import API_VERSION, Notice, Request, Response, empty, require_name


def _found(request: Request, match, services, with_body: bool) -> Response:
    name = require_name(match.name)
    manifests = services.manifests
    record = manifests.resolve(name, match.reference, request.header_values("accept"))
    if with_body:
        manifests.check_pull(name, record)
    headers = {**API_VERSION, "Content-Type": record.media_type, "Content-Length": str(record.size),
               "Docker-Content-Digest": record.digest, "ETag": f'"{record.digest}"'}
    return Response(200, headers, manifests.content(name, record) if with_body else b"")


def get(request: Request, match, services) -> Response:
    found = _found(request, match, services, with_body=True)
    tag = None if isinstance(match.reference, Digest) else str(match.reference)
    return replace(found, notice=Notice("artifact.pulled", request.actor, str(match.name), tag,
                                        found.headers["Docker-Content-Digest"]))


def head(request: Request, match, services) -> Response:
    return _found(request, match, services, with_body=False)


def put(request: Request, match, services) -> Response:
    name = require_name(match.name)
    result = services.manifests.put(name, match.reference, request.header("content-type"), request.body,
                                    request.actor)
    headers = {"Location": f"/v2/{name}/manifests/{result.digest}", "Docker-Content-Digest": result.digest}
    if result.subject:
        headers["OCI-Subject"] = result.subject
    return empty(201, **headers)


def delete(request: Request, match, services) -> Response:
    services.manifests.delete(require_name(match.name), match.reference, request.actor)
    return empty(202)


HANDLERS = {"GET": get, "HEAD": head, "PUT": put, "DELETE": delete}
