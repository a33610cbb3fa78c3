"""/api/v1/registries: create, list, describe, update (ETag / If-Match) and delete registries.

Deleting a registry is asynchronous: the answer is 202 with the deletion's progress; the
registry answers GET with status "deleting" and that progress until it is gone (404)."""
from __future__ import annotations

import json
import time

from chalicelib.auth.policy import registry_resource
from chalicelib.store.ports import RegistryExists, RegistryRecord

from .http import ApiError, Call, expected_revision, flag, json_response, route

DESCRIBE = ("registry:DescribeRegistry", "mrn:registry:{registry}")
_CREATE_FIELDS = {"name", "description", "visibility", "quota_bytes", "bucket", "policy", "scan_on_push"}


def registry_json(record: RegistryRecord, call: Call | None = None) -> dict:
    view = {"name": record.name, "description": record.description, "visibility": record.visibility,
            "quota_bytes": record.quota_bytes, "bucket": record.bucket,
            "policy": json.loads(record.policy) if record.policy else {},
            "created_at": record.created_at.isoformat(), "status": record.status, "revision": record.revision}
    if call is not None:  # a single registry: with what it holds
        if record.status == "active":
            stats = call.services.registries.stats(record.name)
            view.update(stored_bytes=stats.stored_bytes, repository_count=stats.repositories,
                        last_push=stats.last_push.isoformat() if stats.last_push else None)
        else:
            deletion = call.services.deletions.status(record.name)
            view["deletion"] = _deletion_json(deletion) if deletion else None
    return view


def _deletion_json(record) -> dict:
    return {"requested_at": record.requested_at.isoformat(), "requested_by": record.requested_by,
            "removed": record.removed}


def _etag(record: RegistryRecord) -> dict:
    return {"ETag": f'"{record.revision}"'}


@route("GET", "/registries")
def list_registries(call: Call):
    registries = call.services.registries.list()
    allowed = call.services.auth.checker(call.identity, {r.name for r in registries}, call.request.source_ip)
    visible = [r for r in registries if allowed("registry:DescribeRegistry", registry_resource(r.name))]
    return json_response(200, {"registries": [registry_json(r) for r in visible]})


@route("POST", "/registries")
def create_registry(call: Call):
    body = call.body()
    unknown = sorted(set(body) - _CREATE_FIELDS)
    if unknown:
        raise ApiError(400, "INVALID_ARGUMENT", f"unknown field '{unknown[0][:64]}'; fields: {', '.join(sorted(_CREATE_FIELDS))}")
    name = body.get("name")
    if not isinstance(name, str):
        raise ApiError(400, "INVALID_ARGUMENT", "'name' (string) is required")
    call.require("registry:CreateRegistry", registry_resource(name))
    policy = _with_scan_on_push(body.get("policy"), body.get("scan_on_push"))
    try:
        record = call.services.registries.create(
            name, call.identity.subject, description=body.get("description", ""),
            visibility=body.get("visibility", "private"), quota_bytes=body.get("quota_bytes"),
            bucket=body.get("bucket"), policy=policy)
    except RegistryExists:
        raise ApiError(409, "ALREADY_EXISTS", f"registry '{name}' already exists") from None
    return json_response(201, registry_json(record), **_etag(record))


@route("GET", "/registries/{registry}", needs=DESCRIBE)
def get_registry(call: Call):
    record = call.services.registries.get(call.params["registry"])
    return json_response(200, registry_json(record, call), **_etag(record))


@route("PATCH", "/registries/{registry}", needs=("registry:UpdateRegistry", "mrn:registry:{registry}"))
def update_registry(call: Call):
    body = call.body()
    if not body:
        raise ApiError(400, "INVALID_ARGUMENT", "nothing to change: send description, visibility, quota_bytes, "
                                                "policy or scan_on_push")
    changes = dict(body)
    if "scan_on_push" in changes:
        current = call.services.registries.get(call.params["registry"])
        base = changes.get("policy", json.loads(current.policy) if current.policy else {})
        changes["policy"] = _with_scan_on_push(base, changes.pop("scan_on_push"))
    record = call.services.registries.update(call.params["registry"], changes, call.identity.subject,
                                             expected_revision(call))
    return json_response(200, registry_json(record), **_etag(record))


@route("DELETE", "/registries/{registry}", needs=("registry:DeleteRegistry", "mrn:registry:{registry}"))
def delete_registry(call: Call):
    deletions = call.services.deletions
    record = deletions.request_registry(call.params["registry"], call.identity.subject, force=flag(call, "force"))
    done = deletions.run_one(record, _soon())
    body = {"name": record.registry, "status": "deleted" if done else "deleting"}
    latest = deletions.status(record.registry)
    body["deletion"] = _deletion_json(latest or record)
    return json_response(202, body, Location=f"/api/v1/registries/{record.registry}")


def _with_scan_on_push(policy: object, scan_on_push: object) -> object:
    if scan_on_push is None:
        return policy
    if not isinstance(scan_on_push, bool):
        raise ApiError(400, "INVALID_ARGUMENT", "scan_on_push is true or false")
    if policy is not None and not isinstance(policy, dict):
        raise ApiError(400, "INVALID_ARGUMENT", "policy is a JSON object")
    return {**(policy or {}), "scan_on_push": scan_on_push}


def _soon() -> float:
    """The part of a deletion a request does itself; the scheduled worker does the rest."""
    return time.monotonic() + 5.0
