"""/v2/<name>/blobs/<digest>: HEAD from metadata, GET redirects to S3, DELETE unlinks."""
from __future__ import annotations

from .base import API_VERSION, Response, empty, require_name


def head(request, match, services) -> Response:
    blob = services.content.blob(require_name(match.name), match.digest)
    return Response(200, {**API_VERSION, "Content-Length": str(blob.size), "Docker-Content-Digest": blob.digest,
                          "Accept-Ranges": "bytes"})


def get(request, match, services) -> Response:
    # Bytes never pass through the function: the client fetches them from S3.
    blob = services.content.blob(require_name(match.name), match.digest)
    return empty(307, Location=services.content.blob_url(blob), Docker_Content_Digest=blob.digest)


def delete(request, match, services) -> Response:
    services.content.delete_blob(require_name(match.name), match.digest, request.actor)
    return empty(202, Docker_Content_Digest=str(match.digest))


HANDLERS = {"HEAD": head, "GET": get, "DELETE": delete}
