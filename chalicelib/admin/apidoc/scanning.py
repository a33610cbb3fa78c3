"""The document's scanning part: scans of artifacts (admin/scans.py) and the
vulnerability DB (admin/vulndb.py)."""
from __future__ import annotations

from .parts import FLAG, answer, body, integer, nullable, obj, operation, path, query, string
from .registry import DIGEST, REGISTRY, REPOSITORY, TAG

_TAG = "scanning"
_SHA256 = string(pattern="^[0-9a-f]{64}$")
_REPO = [path("registry", REGISTRY, "The registry.", "acme"),
         path("repository", REPOSITORY, "The repository inside the registry (spans path segments).", "team/app"),
         path("reference", {"anyOf": [TAG, DIGEST]}, "A tag or a digest.", "v1")]
_SCAN_PATH = "/registries/{registry}/repositories/{repository+}/-/artifacts/{reference}/scan"
_SUMMARY = {"type": "object", "additionalProperties": True, "required": ["status"],
            "properties": {"status": string(enum=["queued", "completed", "failed"])},
            "description": "status, severity_counts, vulnerabilities (ids by severity), truncated, total, fixable, "
                           "secrets, packages, db_version, completed_at, rescan; `reason` when failed."}
_REPORT = {"type": "object", "additionalProperties": True,
           "description": "The full report (scanner.Report): db_version, platforms[] with os, packages, "
                          "findings and secrets; filtered as asked."}
_POINTER = obj({"version": string(), "key": string(), "sha256": _SHA256, "size": integer(), "built_at": string(),
                "advisories": integer(), "schema": integer()})

SCHEMAS: dict = {}

OPERATIONS = {
    ("POST", _SCAN_PATH): operation(
        _TAG, "Request a scan of an image (the scan consumer runs it)",
        {202: answer(obj({"digest": DIGEST, "status": string(enum=["queued"])}), "Queued.")},
        errors=[400, 403, 404], params=[*_REPO, query("rescan", FLAG, "Match the stored inventory again.")],
        description="NOT_AN_IMAGE (400) for artifacts without layers to scan (charts, SBOMs, signatures)."),
    ("GET", _SCAN_PATH): operation(
        _TAG, "An image's last scan: its summary and its report, filtered",
        {200: answer(obj({"digest": DIGEST, "summary": _SUMMARY, "report": nullable(_REPORT)}), "The scan.")},
        errors=[400, 403, 404], params=[
            *_REPO,
            query("severity", string(pattern="^(?:(?:CRITICAL|HIGH|MEDIUM|LOW|UNKNOWN|critical|high|medium|low|"
                                             "unknown),?)+$"), "Only these severities (comma-separated)."),
            query("fixable", FLAG, "Only vulnerabilities with (true) or without (false) a fixed version."),
            query("package", string(maxLength=214), "Only this package."),
            query("type", string(enum=["os", "language", "secret"]), "Only this kind of finding.")]),
    ("GET", "/vulndb"): operation(
        _TAG, "The vulnerability DB scans match against", {200: answer(_POINTER, "Its version and size.")},
        errors=[404]),
    ("POST", "/vulndb/uploads"): operation(
        _TAG, "Where to upload a DB file built by the client (a pre-signed PUT)",
        {201: answer(obj({"upload": string(), "url": string(), "headers": obj({}, additional=string())}),
                     "PUT the file there with these headers, then POST /vulndb.")},
        errors=[403], request=body(obj({"size": integer(1, 4 * 1024 ** 3), "sha256": _SHA256}),
                                   "The file's size and SHA-256.")),
    ("POST", "/vulndb"): operation(
        _TAG, "Check an uploaded DB and publish it (rescans follow)",
        {201: answer(_POINTER, "The DB now in use.")}, errors=[403, 404],
        request=body(obj({"upload": string(pattern=r"^_vulndb/uploads/[0-9a-f]{32}\.sqlite$"), "sha256": _SHA256}),
                     "The upload key and the file's SHA-256.")),
}

