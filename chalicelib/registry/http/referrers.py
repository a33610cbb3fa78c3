"""/v2/<name>/referrers/<digest>: an OCI index of the manifests whose subject is <digest>."""
from __future__ import annotations

import json

from chalicelib.oci import OCI_INDEX

from .base import API_VERSION, Request, Response, require_name


def list_referrers(request: Request, match, services) -> Response:
    referrers = services.content.referrers(require_name(match.name), match.digest)
    wanted = request.param("artifactType")
    headers = {**API_VERSION, "Content-Type": OCI_INDEX}
    if wanted:
        referrers = [r for r in referrers if r.artifact_type == wanted]
        headers["OCI-Filters-Applied"] = "artifactType"
    descriptors = []
    for r in sorted(referrers, key=lambda r: r.digest):
        descriptor = {"mediaType": r.media_type, "digest": r.digest, "size": r.size}
        if r.artifact_type:
            descriptor["artifactType"] = r.artifact_type
        if r.annotations:
            descriptor["annotations"] = r.annotations
        descriptors.append(descriptor)
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}).encode()
    return Response(200, {**headers, "Content-Length": str(len(body))}, body)


HANDLERS = {"GET": list_referrers}
