"""/api/v1/vulndb: the vulnerability DB scans match against. Its version and size for
anyone logged in; a new one from `moorage vulndb import`, which builds it from OSV data
on the client, uploads it straight to storage (a pre-signed PUT with its SHA-256 signed
in) and then asks for it to be checked and published."""
from __future__ import annotations

import base64
import re
import uuid
from dataclasses import asdict

from chalicelib.auth.policy import VULNDB_RESOURCE
from chalicelib.events.vulndb import UPLOADS, VulnDbSourceError, activate_upload

from .http import ApiError, Call, json_response, route

IMPORT = ("vulndb:Import", VULNDB_RESOURCE)
_MAX_DB = 4 * 1024 ** 3
_SHA256 = re.compile(r"[0-9a-f]{64}")
_UPLOAD_TTL_S = 3600
_UPLOAD = re.compile(re.escape(UPLOADS) + r"[0-9a-f]{32}\.sqlite")


def _fields(call: Call, allowed: set[str]) -> dict:
    body = call.body()
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "INVALID_ARGUMENT", f"unknown field '{unknown[0][:64]}'; fields: {', '.join(sorted(allowed))}")
    return body


@route("GET", "/vulndb")
def status(call: Call):
    from chalicelib.scanner.vulndb.publish import current_pointer

    pointer = current_pointer(call.services.objects)
    if pointer is None:
        raise ApiError(404, "NOT_FOUND", "no vulnerability DB has been imported yet (moorage vulndb import)")
    return json_response(200, asdict(pointer))


@route("POST", "/vulndb/uploads", needs=IMPORT)
def start_upload(call: Call):
    body = _fields(call, {"size", "sha256"})
    size, sha256 = body.get("size"), body.get("sha256")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= _MAX_DB:
        raise ApiError(400, "INVALID_ARGUMENT", f"size is the DB file's size in bytes (at most {_MAX_DB})")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ApiError(400, "INVALID_ARGUMENT", "sha256 is the DB file's SHA-256, 64 lower-case hex digits")
    key = f"{UPLOADS}{uuid.uuid4().hex}.sqlite"
    checksum = base64.b64encode(bytes.fromhex(sha256)).decode()  # S3 refuses other bytes (and we check again)
    url, headers = call.services.objects.presign_put(key, _UPLOAD_TTL_S, size, checksum)
    return json_response(201, {"upload": key, "url": url, "headers": headers})


@route("POST", "/vulndb", needs=IMPORT)
def activate(call: Call):
    body = _fields(call, {"upload", "sha256"})
    key, sha256 = body.get("upload"), body.get("sha256")
    if not isinstance(key, str) or not _UPLOAD.fullmatch(key) or not isinstance(sha256, str) \
            or not _SHA256.fullmatch(sha256):
        raise ApiError(400, "INVALID_ARGUMENT", "send the 'upload' key of POST /vulndb/uploads and the file's 'sha256'")
    if call.services.objects.size(key) is None:
        raise ApiError(404, "NOT_FOUND", "nothing was uploaded there (or it was published already)")
    try:
        pointer = activate_upload(call.services, key, sha256, call.identity.subject)
    except VulnDbSourceError as error:
        raise ApiError(400, "INVALID_ARGUMENT", str(error)) from None
    return json_response(201, asdict(pointer))
