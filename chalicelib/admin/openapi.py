"""/api/v1/openapi.json: the management API's OpenAPI 3.1 document, for anyone (it says
what the API is, nothing about what a deployment holds)."""
from __future__ import annotations

import functools
import json

from chalicelib.registry.http.base import Response

from .http import Call, route


@route("GET", "/openapi.json", anonymous=True)
def openapi_document(call: Call):
    data = _document_bytes()
    return Response(200, {"Content-Type": "application/json", "Content-Length": str(len(data))}, data)


@functools.cache
def _document_bytes() -> bytes:
    from .apidoc import document  # built on first request: importing the app stays light

    return json.dumps(document(), separators=(",", ":")).encode()
