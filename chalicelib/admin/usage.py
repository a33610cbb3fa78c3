"""/api/v1/registries/{registry}/usage: a registry's (or one repository's) usage, hour by
hour or day by day.

Authorized by billing:Read on the registry: usage is billing data (the BillingViewer role
and registry administrators hold it), and the route's `needs=` checks it before the
handler runs. audit:Read is about who did what, not how much, so Auditors are not let in.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.metering.report import ReportError, iso, resolve_range, totals, usage_report
from chalicelib.metering.usage import store_for
from chalicelib.oci import RepoName

from .http import EARLIEST, ApiError, Call, json_response, route


@route("GET", "/registries/{registry}/usage", needs=("billing:Read", "mrn:registry:{registry}"))
def get_usage(call: Call):
    request, registry = call.request, call.params["registry"]
    granularity = request.param("granularity") or "hour"
    repository = request.param("repository") or None
    if repository is not None:
        RepoName.parse(f"{registry}/{repository}")  # NAME_INVALID (400) for what no repository is called
    try:
        start, end = resolve_range(_time(request.param("from"), "from"), _time(request.param("to"), "to"),
                                   granularity, call.services.clock.now())
    except ReportError as error:
        raise ApiError(400, "INVALID_ARGUMENT", str(error)) from None
    if start < EARLIEST:
        raise ApiError(400, "INVALID_ARGUMENT", f"'from' and 'to' are times from {EARLIEST.year} on")
    call.services.registries.require(registry)
    buckets = usage_report(store_for(call.services), registry, repository, start, end, granularity)
    return json_response(200, {
        "registry": registry, "repository": repository, "granularity": granularity,
        "from": iso(start), "to": iso(end),
        "buckets": [b.to_json() for b in buckets], "totals": totals(buckets)})


def _time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", f"'{name}' must be an ISO 8601 time, e.g. 2026-01-01T00:00Z") \
            from None
