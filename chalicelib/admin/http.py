"""/api/v1 routes. For now: registries (list, create); the full control plane comes later."""
from __future__ import annotations

import json
import logging

from chalicelib.oci import OciError
from chalicelib.registry.http.base import Request, Response
from chalicelib.store.ports import RegistryExists

logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(status: int, body: object) -> Response:
    data = json.dumps(body).encode()
    return Response(status, {"Content-Type": "application/json", "Content-Length": str(len(data))}, data)


def _registry_json(record) -> dict:
    return {"name": record.name, "created_at": record.created_at.isoformat(), "description": record.description}


def list_registries(request: Request, services) -> Response:
    return _json(200, {"registries": [_registry_json(r) for r in services.registries.list()]})


def create_registry(request: Request, services) -> Response:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(400, "INVALID_JSON", "request body is not valid JSON") from None
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        raise ApiError(400, "INVALID_ARGUMENT", "'name' (string) is required")
    try:
        record = services.registries.create(name, request.actor)
    except RegistryExists:
        raise ApiError(409, "ALREADY_EXISTS", f"registry '{name}' already exists") from None
    return _json(201, _registry_json(record))


ROUTES = {
    ("/registries", "GET"): list_registries,
    ("/registries", "POST"): create_registry,
}


def dispatch(request: Request, services) -> Response:
    try:
        handler = ROUTES.get((request.path.rstrip("/") or "/", request.method))
        if handler is None:
            known = any(path == request.path.rstrip("/") for path, _ in ROUTES)
            raise ApiError(405 if known else 404, "NOT_FOUND" if not known else "METHOD_NOT_ALLOWED",
                           f"no {request.method} {request.path}")
        return handler(request, services)
    except ApiError as error:
        return _json(error.status, {"error": {"code": error.code, "message": error.message}})
    except OciError as error:
        return _json(error.status, {"error": {"code": error.code.code, "message": error.message}})
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request.request_id})
        return _json(503, {"error": {"code": "UNAVAILABLE", "message": "service unavailable",
                                     "request_id": request.request_id}})
