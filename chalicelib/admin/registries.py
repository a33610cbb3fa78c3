"""/api/v1/registries: list and create (the full registry management comes later)."""
from __future__ import annotations

from chalicelib.auth.policy import registry_resource
from chalicelib.store.ports import RegistryExists

from .http import ApiError, Call, json_response, route


def _registry_json(record) -> dict:
    return {"name": record.name, "created_at": record.created_at.isoformat(), "description": record.description}


@route("GET", "/registries")
def list_registries(call: Call):
    registries = call.services.registries.list()
    allowed = call.services.auth.checker(call.identity, {r.name for r in registries}, call.request.source_ip)
    visible = [r for r in registries if allowed("registry:DescribeRegistry", registry_resource(r.name))]
    return json_response(200, {"registries": [_registry_json(r) for r in visible]})


@route("POST", "/registries")
def create_registry(call: Call):
    name = call.body().get("name")
    if not isinstance(name, str):
        raise ApiError(400, "INVALID_ARGUMENT", "'name' (string) is required")
    call.require("registry:CreateRegistry", registry_resource(name))
    try:
        record = call.services.registries.create(name, call.identity.subject)
    except RegistryExists:
        raise ApiError(409, "ALREADY_EXISTS", f"registry '{name}' already exists") from None
    return json_response(201, _registry_json(record))
