"""/api/v1/…/-/artifacts/{reference}/scan: request a scan (202; the scan consumer runs it)
and read the result, filtered by severity, fixability, package and type."""
from __future__ import annotations

import json
from dataclasses import replace

from chalicelib.registry.errors import NotFound
from chalicelib.registry.http.base import Notice
from chalicelib.scanner.service import NotAnImage
from chalicelib.scanner.severities import SEVERITIES

from .http import ApiError, Call, flag, json_response, route
from .repositories import REPO, repo_name

SCAN = REPO + "/-/artifacts/{reference}/scan"


@route("POST", SCAN, needs=("scan:Start", "mrn:repository:{registry}/{repository}"))
def request_scan(call: Call):
    name = repo_name(call)
    record = call.services.artifacts.resolve(name, call.params["reference"])
    try:
        call.services.scans.mark_queued(name, record.digest)
    except NotAnImage as error:
        raise ApiError(400, "NOT_AN_IMAGE", str(error)) from None
    response = json_response(202, {"digest": record.digest, "status": "queued"})
    return replace(response, notice=Notice("scan.requested", call.identity.subject, str(name), None, record.digest,
                                           details={"rescan": flag(call, "rescan")}))


@route("GET", SCAN, needs=("scan:Read", "mrn:repository:{registry}/{repository}"))
def get_scan(call: Call):
    name = repo_name(call)
    record = call.services.artifacts.resolve(name, call.params["reference"])
    filters = _filters(call)
    summary = json.loads(record.scan) if record.scan else None
    if summary is None:
        raise NotFound(f"{name}@{record.digest} has not been scanned; request a scan with POST")
    report = call.services.scans.report(name, record.digest)
    if report is not None:
        from chalicelib.scanner.report import filter_report

        report = filter_report(report, **filters).to_dict()
    return json_response(200, {"digest": record.digest, "summary": summary, "report": report})


def _filters(call: Call) -> dict:
    request = call.request
    severities = [s.strip().upper() for v in request.query.get("severity", ()) for s in v.split(",") if s.strip()]
    if any(s not in SEVERITIES for s in severities):
        raise ApiError(400, "INVALID_ARGUMENT", f"severity is one or more of {', '.join(SEVERITIES)}")
    kind = request.param("type")
    from chalicelib.scanner.report import (
        TYPES,  # the report's module only when a report is read
    )

    if kind is not None and kind not in TYPES:
        raise ApiError(400, "INVALID_ARGUMENT", f"type is one of {', '.join(TYPES)}")
    package = request.param("package")
    if package is not None and not 0 < len(package) <= 214:
        raise ApiError(400, "INVALID_ARGUMENT", "package is a package name")
    return {"severity": severities or None, "fixable": flag(call, "fixable") if request.param("fixable") else None,
            "package": package, "type": kind}
