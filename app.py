"""The functions: Chalice routes, scheduled jobs and event handlers. Nothing else lives here."""
from __future__ import annotations

from chalice import AuthResponse, Chalice, Rate, Response

from chalicelib.admin import http as admin_http
from chalicelib.auth import http as auth_http
from chalicelib.events import after_invoke
from chalicelib.logs import correlate
from chalicelib.oci import BINARY_BODY_TYPES
from chalicelib.registry.http import dispatch as registry_http
from chalicelib.registry.http.base import Request
from chalicelib.services import default_services

app = Chalice(app_name="moorage")
# Blob bodies are binary; manifests stay text (UTF-8 JSON) so that any client, whatever its
# Accept header, gets them byte-exact from API Gateway.
app.api.binary_types = sorted(BINARY_BODY_TYPES)

# On Lambda, the pulls and logins buffered by a request are sent after its response and before
# the instance freezes (chalicelib/events/after_invoke.py); nothing happens elsewhere.
after_invoke.start_if_configured(lambda: default_services().publisher.flush())


@app.middleware("http")
def _send_buffered_events_after(event, get_response):
    try:
        return get_response(event)
    finally:
        after_invoke.invocation_ended()


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Registry clients send any Content-Type (or none) on uploads; handlers validate bodies themselves.
_ANY = ["*/*"]


def _request(path: str) -> Request:
    """Read Chalice's (process-global) current request once into an immutable value."""
    current = app.current_request
    event = current.to_original_event()
    headers = event.get("multiValueHeaders") or {k: [v] for k, v in (event.get("headers") or {}).items()}
    query = event.get("multiValueQueryStringParameters") or {
        k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
    body = current.raw_body or b""
    context = event.get("requestContext") or {}
    lower = {k.lower(): v[-1] for k, v in headers.items() if v}
    return Request(
        method=current.method.upper(), path=path,
        query={k: tuple(v) for k, v in query.items()},
        headers={k.lower(): tuple(v) for k, v in headers.items()},
        body=body if isinstance(body, bytes) else body.encode(),
        source_ip=(context.get("identity") or {}).get("sourceIp", ""),
        request_id=context.get("requestId", ""),
        base_url=_base_url(lower, context),
    )


def _base_url(headers: dict[str, str], context: dict) -> str:
    """How the client reached us: API Gateway's own domain carries the stage in the path."""
    proto = headers.get("x-forwarded-proto", "http").split(",")[0].strip()
    stage = f"/{context.get('stage')}" if ".execute-api." in context.get("domainName", "") else ""
    return f"{proto}://{headers.get('host', 'localhost')}{stage}"


def _respond(dispatch, path: str) -> Response:
    request, services = _request(path), default_services()
    correlate(request.request_id)
    result = dispatch(request, services)
    if result.notice is not None:
        from chalicelib.events.api import publish

        publish(result.notice, request, services)
    headers = dict(result.headers)
    body: bytes | str = result.body
    if headers.get("Content-Type", "").split(";")[0] not in BINARY_BODY_TYPES:
        body = result.body.decode("utf-8")
    return Response(body=body, headers=headers, status_code=result.status)


@app.authorizer(ttl_seconds=300, name="registry_token")
def registry_token(auth_request) -> AuthResponse:
    """AWS only. API Gateway renames a function's WWW-Authenticate header, and docker needs the
    challenge on its first 401; so a request without a valid token is refused here, by API
    Gateway's UNAUTHORIZED response that carries the challenge (infra/resources.json). The
    function still checks the token's scope. Cached per token for at most its lifetime."""
    subject = auth_http.authenticate_bearer(auth_request.token, default_services())
    if subject is None:
        raise Exception("Unauthorized")  # the message API Gateway turns into a 401
    return AuthResponse(routes=["/v2", "/v2/*"], principal_id=subject)


@app.route("/v2", methods=_METHODS, content_types=_ANY, authorizer=registry_token)
def v2_root() -> Response:
    return _respond(registry_http.dispatch, "/")


@app.route("/v2/{proxy+}", methods=_METHODS, content_types=_ANY, authorizer=registry_token)
def v2() -> Response:
    return _respond(registry_http.dispatch, "/" + app.current_request.uri_params["proxy"])


@app.route("/token", methods=["GET", "POST"], content_types=["application/x-www-form-urlencoded", *_ANY])
def token() -> Response:
    return _respond(auth_http.token, "/token")


@app.route("/token/jwks", methods=["GET"])
def jwks() -> Response:
    return _respond(auth_http.jwks, "/token/jwks")


@app.route("/api/v1/{proxy+}", methods=_METHODS, content_types=_ANY)
def api_v1() -> Response:
    return _respond(admin_http.dispatch, "/" + app.current_request.uri_params["proxy"])


@app.schedule(Rate(1, unit=Rate.HOURS), name="collect_garbage")
def collect_garbage(event) -> None:
    """Remove what nothing uses any more (chalicelib/registry/gc.py) and abort expired uploads."""
    default_services().gc.run()


@app.schedule(Rate(1, unit=Rate.DAYS), name="apply_retention")
def apply_retention(event) -> None:
    """Every registry's retention rules (chalicelib/registry/retention.py)."""
    default_services().retention.run_all()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="continue_deletions")
def continue_deletions(event) -> None:
    """Carry on deleting registries and repositories (chalicelib/registry/deletion.py)."""
    default_services().deletions.run(budget_s=240)


# ---- storage events: dispatchers and consumers (chalicelib/events) --------------------------
# The stream ARN and queue names are fixed here because Chalice needs them when it packages;
# infra/resources.json points the stream mapping at the table's real stream and creates the
# queues (each with its dead-letter queue) under these names.
TABLE_STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/moorage/stream/placeholder"


@app.on_dynamodb_record(stream_arn=TABLE_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON",
                        name="table_changes")
def table_changes(event) -> None:
    from chalicelib.events import dispatch

    dispatch.table_changes(event.to_dict()["Records"], default_services())


@app.on_sqs_message(queue="moorage-storage", batch_size=10, name="storage_changes")
def storage_changes(event) -> dict:
    from chalicelib.events import dispatch

    return dispatch.storage_changes(event.to_dict()["Records"], default_services())


def _consume(name: str, event) -> dict:
    from chalicelib.events.consumers import consumer, process_batch

    services = default_services()
    return process_batch(consumer(name), event.to_dict()["Records"], services, services.aws.client("sqs"),
                         event.context)


@app.on_sqs_message(queue="moorage-audit", batch_size=10, name="audit")
def audit(event) -> dict:
    return _consume("audit", event)


@app.on_sqs_message(queue="moorage-meter", batch_size=10, name="meter")
def meter(event) -> dict:
    return _consume("meter", event)


@app.on_sqs_message(queue="moorage-webhooks", batch_size=10, name="webhooks")
def webhooks(event) -> dict:
    return _consume("webhooks", event)


@app.on_sqs_message(queue="moorage-scan", batch_size=1, name="scan")
def scan(event) -> dict:
    """One image per invocation: a scan may take minutes and the memory of its layers' reading."""
    return _consume("scan", event)


@app.schedule(Rate(1, unit=Rate.DAYS), name="refresh_vulndb")
def refresh_vulndb(event) -> None:
    """Import the OSV sources in MOORAGE_VULNDB_SOURCES (if set) into a new vulnerability DB."""
    from chalicelib.events.vulndb import refresh

    refresh(default_services())
