"""/api/v1/audit: who did what, when, from where; newest first, a page at a time.

Read-only on purpose: no route writes, changes or deletes a record (only the audit
consumer appends, and records leave by their TTL), so PUT, POST and DELETE get 405.

With `registry`, audit:Read on that registry is needed (the Auditor and RegistryAdmin
roles hold it). Without, the log is the deployment's: logins and principal changes (the
`_` partition) and every registry, so it needs audit:Read on the deployment-wide IAM
resource, which no registry role grants.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.auth.policy import IAM_RESOURCE, registry_resource
from chalicelib.events.model import EVENT_TYPES
from chalicelib.oci import parse_registry_name
from chalicelib.store.audit import MAX_LIMIT, AuditQueryError, AuditRecord, AuditStore

from .http import EARLIEST, ApiError, Call, is_number, json_response, route

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_LIMIT = 100
MAX_TEXT = 256
PARAMETERS = frozenset({"registry", "repository", "actor", "action", "from", "to", "limit", "cursor"})


@route("GET", "/audit")
def list_audit(call: Call):
    request = call.request
    unknown = sorted(set(request.query) - PARAMETERS)
    if unknown:  # a misspelt filter must not silently widen the answer
        raise _invalid(f"unknown parameter(s): {', '.join(u[:32] for u in unknown[:5])}; "
                       f"known: {', '.join(sorted(PARAMETERS))}")
    registry = request.param("registry") or None
    if registry is None:
        call.require("audit:Read", IAM_RESOURCE)
    else:
        call.require("audit:Read", registry_resource(parse_registry_name(registry)))
    action = request.param("action") or None
    if action is not None and action not in EVENT_TYPES:
        raise _invalid(f"unknown action {action[:64]!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    start, end = _range(request.param("from"), request.param("to"), call.services.clock.now())
    try:
        records, cursor = AuditStore().query(
            registry, start, end, repository=_text(request.param("repository"), "repository"),
            actor=_text(request.param("actor"), "actor"), action=action, limit=_limit(request.param("limit")),
            cursor=request.param("cursor") or None)
    except AuditQueryError as error:
        raise _invalid(str(error)) from None
    return json_response(200, {"registry": registry, "from": _iso(start), "to": _iso(end),
                               "records": [record_json(r) for r in records], "next_cursor": cursor})


def record_json(record: AuditRecord) -> dict:
    """The shape of the event it records (chalicelib/events/model.py)."""
    return {"id": record.id, "type": record.type, "time": _iso(record.time),
            "actor": {"principal": record.principal, "source_ip": record.source_ip, "user_agent": record.user_agent},
            "target": {"registry": record.registry, "repository": record.repository, "tag": record.tag,
                       "digest": record.digest},
            "result": record.result, "details": dict(record.details)}


# ---- input ----------------------------------------------------------------------------------

def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def _range(start_text: str | None, end_text: str | None, now: datetime) -> tuple[datetime, datetime]:
    end = _time(end_text, "to") or now
    try:
        start = _time(start_text, "from") or end - DEFAULT_WINDOW
    except OverflowError:  # 'to' in the first day of year 1
        raise _invalid("'from' must be given for so early a 'to'") from None
    if start < EARLIEST:
        raise _invalid(f"'from' and 'to' are times from {EARLIEST.year} on")
    return start, end


def _time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
        # A time without a zone is read as UTC, the log's own zone.
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: a zone that moves it out of years 1-9999
        raise _invalid(f"'{name}' must be an ISO 8601 time, e.g. 2026-01-01T00:00:00Z") from None


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not (is_number(text, 4) and 1 <= int(text) <= MAX_LIMIT):
        raise _invalid(f"'limit' is a number from 1 to {MAX_LIMIT}")
    return int(text)


def _text(text: str | None, name: str) -> str | None:
    if text is not None and len(text) > MAX_TEXT:
        raise _invalid(f"'{name}' is at most {MAX_TEXT} characters")
    return text or None


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
