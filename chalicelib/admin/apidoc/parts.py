"""Building blocks of the OpenAPI document: schema shorthands, parameters, bodies and the
error responses every operation shares. Operations are written with `operation()`, which
adds what dispatch does for every route (401 without valid credentials, 503 when a
backend fails) so that the resource modules only list what their handlers do."""
from __future__ import annotations

from typing import Iterable

JSON = "application/json"
# The security requirement of every authenticated route, and of anonymous ones: an empty
# requirement lets the caller send nothing (but credentials sent are checked: 401).
AUTHENTICATED = [{"basic": []}, {"bearer": []}]
ANONYMOUS = [{}, {"basic": []}, {"bearer": []}]

_ERRORS = {
    400: ("BadRequest", "Invalid input: a malformed body (INVALID_JSON), a field or parameter out of its "
                        "range (INVALID_ARGUMENT), or a name, tag or digest that breaks its grammar "
                        "(NAME_INVALID, TAG_INVALID, DIGEST_INVALID)."),
    401: ("Unauthorized", "No credentials, or invalid ones (UNAUTHORIZED)."),
    403: ("Forbidden", "The caller's policies do not allow the action (DENIED)."),
    404: ("NotFound", "What the path names does not exist (NOT_FOUND, NAME_UNKNOWN, MANIFEST_UNKNOWN)."),
    409: ("Conflict", "The request contradicts the current state (CONFLICT, ALREADY_EXISTS, LIMIT_EXCEEDED)."),
    412: ("PreconditionFailed", "If-Match named a revision that is no longer the current one "
                               "(PRECONDITION_FAILED)."),
    413: ("TooLarge", "The request body exceeds 64 KiB (TOO_LARGE)."),
    429: ("TooManyRequests", "The account had too many failed logins lately (TOO_MANY_REQUESTS); "
                             "Retry-After says when to try again."),
    503: ("Unavailable", "A backend failed; the answer carries the request id to look for in the logs "
                        "(UNAVAILABLE)."),
}


# ---- schemas ---------------------------------------------------------------------------

def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required: Iterable[str] | None = None, additional: bool | dict = False,
        **extra) -> dict:
    """An object schema; `required` defaults to every property (most views always carry all their keys)."""
    return {"type": "object", "properties": properties,
            "required": sorted(properties if required is None else required),
            "additionalProperties": additional, **extra}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def string(**constraints) -> dict:
    return {"type": "string", **constraints}


def integer(minimum: int | None = 0, maximum: int | None = None, **extra) -> dict:
    schema = {"type": "integer", **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def array(items: dict, **constraints) -> dict:
    return {"type": "array", "items": items, **constraints}


def anchored(pattern: str) -> str:
    """A Python pattern always applied with fullmatch, as an ECMA-262 pattern (JSON Schema
    patterns are searched, not matched)."""
    return f"^(?:{pattern})$"


TIME = string(format="date-time")
MAYBE_TIME = nullable(TIME)
BOOLEAN = {"type": "boolean"}


# ---- parameters and bodies -------------------------------------------------------------

def path(name: str, schema: dict, description: str, example: str | None = None) -> dict:
    param = {"name": name, "in": "path", "required": True, "description": description, "schema": schema}
    if example is not None:
        param["example"] = example
    return param


def query(name: str, schema: dict, description: str) -> dict:
    """An optional query parameter; every handler reads an empty value as if none was sent."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"anyOf": [schema, string(maxLength=0)]}}


# `flag()` in admin/http.py: true/false/1/0 in any case.
FLAG = string(pattern="^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$")

IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "schema": string(pattern=r'^(?:W/)?"?[0-9]{1,18}"?$'),
            "description": "The ETag of an earlier GET (e.g. `\"3\"`): the change applies only to that revision, "
                           "else 412."}


def body(schema: dict, description: str, example: object = None, required: bool = True) -> dict:
    media = {"schema": schema} if example is None else {"schema": schema, "example": example}
    return {"required": required, "description": description, "content": {JSON: media}}


# ---- operations ------------------------------------------------------------------------

def operation(tag: str, summary: str, ok: dict, *, errors: Iterable[int] = (), params: Iterable[dict] = (),
              request: dict | None = None, description: str | None = None, anonymous: bool = False) -> dict:
    """One operation. `ok` maps the success status to its response; `errors` lists the
    statuses the handler itself can give. A request body adds 400 (not JSON, not an object)
    and 413 (too large), as `Call.body()` does."""
    # Credentials sent are checked on every route: 401, and 429 once an account is throttled.
    statuses = set(errors) | {429, 503} | (set() if anonymous else {401})
    if request is not None:
        statuses |= {400, 413}
    op = {"tags": [tag], "summary": summary}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = list(params)
    if request is not None:
        op["requestBody"] = request
    op["responses"] = {**{str(s): r for s, r in ok.items()},
                       **{str(s): {"$ref": f"#/components/responses/{_ERRORS[s][0]}"} for s in sorted(statuses)}}
    op["security"] = ANONYMOUS if anonymous else AUTHENTICATED
    return op


def answer(schema: dict, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


ETAG = {"ETag": {"description": "The revision, for If-Match.", "schema": string(pattern=r'^"[0-9]+"$')}}


def error_components(codes: Iterable[str]) -> tuple[dict, dict]:
    """The Error schema (its `code` one of `codes`) and one shared response per status."""
    schema = obj({"error": obj({"code": string(enum=sorted(codes)), "message": string(),
                                "request_id": string(description="Only on 503: the request to look for "
                                                                 "in the logs.")},
                               required=["code", "message"])})
    responses = {}
    for status, (name, description) in _ERRORS.items():
        responses[name] = answer(ref("Error"), description)
    responses["TooManyRequests"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait.", "schema": string(pattern="^[0-9]+$"), "required": True}}
    responses["Unauthorized"]["headers"] = {
        "WWW-Authenticate": {"description": "The Basic challenge.", "schema": string(), "required": True}}
    return schema, responses
