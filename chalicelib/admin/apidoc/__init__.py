"""The management API's OpenAPI 3.1 document, served at /api/v1/openapi.json.

Paths come from the route table (admin/http.py ROUTES): each route is looked up here by
method and path and documented with its parameters, body and every status its handler and
dispatch can give. The constraints are the code's own where it exports them (name and tag
grammars, enums, limits); the others are written here, and tests/admin hold both equal."""
from __future__ import annotations

from chalicelib.oci import Code

from . import identity, pipeline, registry, scanning
from .parts import error_components

# Every code an error body can carry: the management API's own and the protocol's (OciError).
_API_CODES = {"INVALID_ARGUMENT", "INVALID_JSON", "TOO_LARGE", "DENIED", "NOT_FOUND", "METHOD_NOT_ALLOWED",
              "UNAUTHORIZED", "CONFLICT", "ALREADY_EXISTS", "LIMIT_EXCEEDED", "PRECONDITION_FAILED", "UNAVAILABLE",
              "NOT_AN_IMAGE", "TOO_MANY_REQUESTS"}


class Undocumented(LookupError):
    """A route without an operation here, or an operation without a route."""


def document() -> dict:
    from chalicelib.admin.http import load_routes

    operations = {**identity.OPERATIONS, **registry.OPERATIONS, **pipeline.OPERATIONS, **scanning.OPERATIONS}
    paths: dict[str, dict] = {}
    for found in load_routes():
        key = (found.method, found.path)
        if key not in operations:
            raise Undocumented(f"{found.method} {found.path} is not documented")
        template = found.path.replace("+}", "}")  # `{name+}` spans slashes; OpenAPI has no such marker
        paths.setdefault(template, {})[found.method.lower()] = {
            **operations.pop(key), "operationId": found.handler.__name__}
    if operations:
        raise Undocumented(f"documented without a route: {sorted(operations)}")
    error, responses = error_components(_API_CODES | {code.code for code in Code})
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {"title": "moorage management API", "version": "1",
                 "description": "Registries, repositories, access, audit, usage and webhooks of a moorage "
                                "deployment. Errors are {\"error\": {\"code\", \"message\"}}. Repository names "
                                "contain slashes; what follows a repository is introduced by /-/."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"basic": []}, {"bearer": []}],
        "tags": [{"name": name} for name in ("registries", "repositories", "maintenance", "scanning", "usage",
                                             "access", "audit", "events", "webhooks", "meta")],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "A user's name and password, or a "
                                                                            "robot's login and secret."},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "A registry token from /token (ES256)."}},
            "schemas": {"Error": error, **identity.SCHEMAS, **registry.SCHEMAS, **pipeline.SCHEMAS,
                        **scanning.SCHEMAS},
            "responses": responses,
        },
    }
