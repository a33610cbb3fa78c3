"""/api/v1/gc and /api/v1/registries/{registry}/retention: run garbage collection or a
registry's retention rules now (both also run on a schedule), or show what they would do."""
from __future__ import annotations

from chalicelib.auth.policy import GC_RESOURCE
from chalicelib.oci import RepoName

from .http import Call, flag, json_response, route


@route("POST", "/gc", needs=("gc:Run", GC_RESOURCE))
def run_gc(call: Call):
    return json_response(200, call.services.gc.run(dry_run=flag(call, "dry_run")).as_dict())


@route("POST", "/registries/{registry}/retention", needs=("repository:Delete", "mrn:repository:{registry}/*"))
def run_retention(call: Call):
    registry = call.params["registry"]
    call.services.registries.get(registry)  # 404 for no such registry
    repository = call.request.param("repository")
    if repository:
        repository = RepoName.parse(f"{registry}/{repository}").repository
    return json_response(200, call.services.retention.run_registry(registry, dry_run=flag(call, "dry_run"),
                                                                   repository=repository))
