"""/api/v1: the management API (JSON). Every route names the action and resource it needs;
dispatch authenticates the caller and checks the policies before the handler runs."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable

from chalicelib.auth.http import api_identity
from chalicelib.auth.principals import Identity, InvalidArgument
from chalicelib.auth.service import AuthFailed, LoginThrottled
from chalicelib.oci import OciError
from chalicelib.registry.errors import Conflict, InvalidSetting, NotFound, PreconditionFailed
from chalicelib.registry.http.base import Notice, Request, Response
from chalicelib.store.ports import PrincipalExists, PrincipalUnknown

logger = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
# Nothing we record is older, and stores write years with four digits (strftime does not pad).
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass(frozen=True)
class Call:
    """A routed, authenticated management request."""
    request: Request
    params: dict[str, str]
    identity: Identity
    services: object

    def body(self) -> dict:
        if len(self.request.body) > MAX_BODY:
            raise ApiError(413, "TOO_LARGE", f"request body exceeds {MAX_BODY} bytes")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise ApiError(400, "INVALID_JSON", "request body is not valid JSON") from None
        except RecursionError:  # 64 KiB of '[' is valid JSON too deep for the parser
            raise ApiError(400, "INVALID_JSON", "request body is nested too deeply") from None
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "request body must be a JSON object")
        return body

    def require(self, action: str, resource: str) -> None:
        if not self.services.auth.allowed(self.identity, action, resource, self.request.source_ip):
            raise ApiError(403, "DENIED", f"{self.identity.subject} may not {action} on {resource}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as written, `{name}` and `{name+}`: what the OpenAPI document lists
    pattern: re.Pattern
    handler: Callable[[Call], Response]
    # (action, resource template) checked before the handler; None: the handler checks.
    needs: tuple[str, str] | None
    anonymous: bool = False


ROUTES: list[Route] = []
_PARAM = re.compile(r"\{(\w+)(\+?)\}")
# `{repository+}` spans slashes (team/app/web); its components never start with '-', so the
# `/-/` that introduces a sub-resource (…/team/app/-/tags) cannot be part of it (GitLab's way).
_GREEDY = r"[^/-][^/]*(?:/[^/-][^/]*)*"


def route(method: str, path: str, needs: tuple[str, str] | None = None, anonymous: bool = False):
    pattern = re.compile("^" + _PARAM.sub(
        lambda m: f"(?P<{m.group(1)}>{_GREEDY if m.group(2) else '[^/]+'})", path) + "$")

    def register(handler):
        ROUTES.append(Route(method, path, pattern, handler, needs, anonymous))
        return handler
    return register


def json_response(status: int, body: object, **headers: str) -> Response:
    data = json.dumps(body).encode()
    return Response(status, {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers},
                    data)


def expected_revision(call: "Call") -> int | None:
    """If-Match: "<revision>" (as the ETag of a GET said): the update applies only to that revision."""
    value = call.request.header("if-match")
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not is_number(text, 18):
        raise ApiError(400, "INVALID_ARGUMENT", "If-Match takes the ETag of a GET, e.g. \"3\"")
    return int(text)


def is_number(text: str, max_digits: int) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' and other digits int() refuses."""
    return text.isascii() and text.isdigit() and len(text) <= max_digits


def flag(call: "Call", name: str) -> bool:
    value = (call.request.param(name) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, "INVALID_ARGUMENT", f"'{name}' is true or false")
    return value in ("true", "1")


def load_routes() -> list[Route]:
    """Every route: the modules register theirs when imported (on first use, so that
    importing the app stays light)."""
    from . import (  # noqa: F401  (their routes register on import)
        access,
        artifacts,
        audit,
        events,
        maintenance,
        openapi,
        registries,
        repositories,
        scans,
        usage,
        vulndb,
        webhooks,
    )
    return ROUTES


def dispatch(request: Request, services) -> Response:
    load_routes()
    identity = None  # known once authenticated: a refusal then names who was refused
    try:
        path = request.path.rstrip("/") or "/"
        matches = [(r, m) for r in ROUTES if (m := r.pattern.match(path))]
        found = next(((r, m) for r, m in matches if r.method == request.method), None)
        if found is None:
            if matches:
                allowed = ", ".join(sorted({r.method for r, _ in matches}))
                raise ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported here (allowed: {allowed})",
                               {"Allow": allowed})  # RFC 9110 15.5.6
            raise ApiError(404, "NOT_FOUND", f"no such endpoint: {request.method} /api/v1{request.path}")
        spec, match = found
        identity = _caller(request, services, spec.anonymous)
        call = Call(replace(request, actor=identity.subject), match.groupdict(), identity, services)
        if spec.needs is not None:
            action, resource = spec.needs
            call.require(action, resource.format(**call.params))
        return spec.handler(call)
    except ApiError as error:
        response = _error(error.status, error.code, error.message)
        response.headers.update(error.headers)
        if error.status in (401, 403) and request.header("authorization"):
            subject = identity.subject if error.status == 403 and identity is not None else "anonymous"
            response = replace(response, notice=Notice(
                "access.denied", subject, result="denied",
                details={"status": error.status, "reason": error.message, "method": request.method,
                         "path": f"/api/v1{request.path}"[:512]}))
        return response
    except (InvalidArgument, InvalidSetting) as error:
        return _error(400, "INVALID_ARGUMENT", str(error))
    except NotFound as error:
        return _error(404, "NOT_FOUND", str(error))
    except Conflict as error:
        return _error(409, "CONFLICT", str(error))
    except PreconditionFailed as error:
        return _error(412, "PRECONDITION_FAILED", str(error))
    except PrincipalExists as error:
        return _error(409, "ALREADY_EXISTS", str(error))
    except PrincipalUnknown as error:
        return _error(404, "NOT_FOUND", str(error))
    except OciError as error:
        return _error(error.status, error.code.code, error.message)
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request.request_id})
        return json_response(503, {"error": {"code": "UNAVAILABLE", "message": "service unavailable",
                                             "request_id": request.request_id}})


def _caller(request: Request, services, anonymous_ok: bool) -> Identity:
    from chalicelib.auth.principals import ANONYMOUS

    try:
        if anonymous_ok and not request.header("authorization"):
            return ANONYMOUS
        return api_identity(request, services)
    except LoginThrottled as error:
        raise ApiError(429, "TOO_MANY_REQUESTS", str(error), {"Retry-After": str(error.retry_after_s)}) from None
    except AuthFailed as error:
        raise ApiError(401, "UNAUTHORIZED", str(error)) from None


def _error(status: int, code: str, message: str) -> Response:
    response = json_response(status, {"error": {"code": code, "message": message}})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="moorage"'
    return response

