"""/api/v1/registries/{registry}/webhooks: a registry's webhook subscriptions and their
delivery logs. The signing secret is shown once, in the answer to the creation."""
from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

from chalicelib.events.model import EVENT_TYPES
from chalicelib.store.webhooks import Delivery, Subscription, WebhookStore, WebhookUnknown

from .http import ApiError, Call, is_number, json_response, route

MANAGE = ("registry:ManageAccess", "mrn:registry:{registry}")
MAX_URL = 2048
MAX_DESCRIPTION = 256
# Each event is sent to the subscriptions one after another, within one function run.
MAX_SUBSCRIPTIONS = 20
DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def _store(call: Call) -> WebhookStore:
    return getattr(call.services, "webhooks", None) or WebhookStore()


def _subscription_json(sub: Subscription) -> dict:
    return {"id": sub.id, "registry": sub.registry, "url": sub.url, "events": list(sub.events),
            "description": sub.description, "enabled": sub.enabled,
            "created_at": sub.created_at.isoformat() if sub.created_at else None, "created_by": sub.created_by}


def _delivery_json(delivery: Delivery) -> dict:
    def when(moment):
        return moment.isoformat() if moment else None
    return {"event_id": delivery.event_id, "event_type": delivery.event_type,
            "event_time": when(delivery.event_time), "delivered": delivery.delivered_at is not None,
            "status_code": delivery.status_code, "attempts": delivery.attempts,
            "last_error": delivery.last_error, "attempted_at": when(delivery.attempted_at),
            "delivered_at": when(delivery.delivered_at)}


def _found(call: Call) -> Subscription:
    registry, webhook_id = call.services.registries.require(call.params["registry"]).name, call.params["id"]
    sub = _store(call).get(registry, webhook_id)
    if sub is None:
        raise ApiError(404, "NOT_FOUND", f"webhook '{webhook_id}' of registry '{registry}' does not exist")
    return sub


@route("POST", "/registries/{registry}/webhooks", needs=MANAGE)
def create_webhook(call: Call):
    registry = call.services.registries.require(call.params["registry"]).name
    body = call.body()
    url, events = _url(body.get("url"), call.services.settings.webhook_allow_private), _events(body.get("events"))
    description, enabled = body.get("description", ""), body.get("enabled", True)
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ApiError(400, "INVALID_ARGUMENT", f"'description' is a string of at most {MAX_DESCRIPTION} characters")
    if not isinstance(enabled, bool):
        raise ApiError(400, "INVALID_ARGUMENT", "'enabled' is true or false")
    store = _store(call)
    if len(store.list(registry)) >= MAX_SUBSCRIPTIONS:
        raise ApiError(409, "LIMIT_EXCEEDED", f"a registry has at most {MAX_SUBSCRIPTIONS} webhooks")
    sub = store.create(Subscription(
        registry=registry, id=secrets.token_hex(8), url=url, events=events, secret=secrets.token_urlsafe(32),
        description=description, created_at=call.services.clock.now(), created_by=call.identity.subject,
        enabled=enabled))
    # The only time the secret is shown; receivers verify X-Moorage-Signature with it.
    return json_response(201, {**_subscription_json(sub), "secret": sub.secret})


@route("GET", "/registries/{registry}/webhooks", needs=MANAGE)
def list_webhooks(call: Call):
    registry = call.services.registries.require(call.params["registry"]).name
    return json_response(200, {"webhooks": [_subscription_json(s) for s in _store(call).list(registry)]})


@route("GET", "/registries/{registry}/webhooks/{id}", needs=MANAGE)
def get_webhook(call: Call):
    return json_response(200, _subscription_json(_found(call)))


@route("DELETE", "/registries/{registry}/webhooks/{id}", needs=MANAGE)
def delete_webhook(call: Call):
    sub = _found(call)
    try:
        _store(call).delete(sub.registry, sub.id)
    except WebhookUnknown:  # deleted by another call meanwhile
        raise ApiError(404, "NOT_FOUND", f"webhook '{sub.id}' does not exist") from None
    return json_response(200, {"deleted": sub.id})


@route("GET", "/registries/{registry}/webhooks/{id}/deliveries", needs=MANAGE)
def list_deliveries(call: Call):
    sub, text = _found(call), call.request.param("limit")
    if text and not (is_number(text, 3) and 1 <= int(text) <= MAX_LIMIT):  # empty: as if not sent
        raise ApiError(400, "INVALID_ARGUMENT", f"'limit' is a number from 1 to {MAX_LIMIT}")
    deliveries = _store(call).deliveries(sub, int(text) if text else DEFAULT_LIMIT)
    return json_response(200, {"deliveries": [_delivery_json(d) for d in deliveries]})


# ---- input ----------------------------------------------------------------------------------

def _url(url: object, allow_private: bool) -> str:
    """Shape only (delivery resolves the host and checks every address again)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise ApiError(400, "INVALID_ARGUMENT", f"'url' is a string of at most {MAX_URL} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ApiError(400, "INVALID_ARGUMENT", "'url' must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket: http://[::1
        raise ApiError(400, "INVALID_ARGUMENT", "'url' is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "INVALID_ARGUMENT", "'url' must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ApiError(400, "INVALID_ARGUMENT", "'url' must not carry credentials (receivers check the signature)")
    try:
        parts.port
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", "'url' has an invalid port") from None
    if not allow_private and _private_host(parts.hostname):
        raise ApiError(400, "INVALID_ARGUMENT", f"'url' targets a non-public address ({parts.hostname})")
    return url


def _private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: checked when it is resolved, at each delivery
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return not ip.is_global or ip.is_multicast


def _events(events: object) -> tuple[str, ...]:
    if events is None:
        return ("*",)
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ApiError(400, "INVALID_ARGUMENT", "'events' is a non-empty list of event types (or [\"*\"])")
    unknown = sorted({e for e in events if e != "*" and e not in EVENT_TYPES})
    if unknown:
        raise ApiError(400, "INVALID_ARGUMENT", f"unknown event types: {', '.join(u[:64] for u in unknown[:5])} "
                                                f"(known: *, {', '.join(sorted(EVENT_TYPES))})")
    return tuple(dict.fromkeys(events))  # without duplicates, in the order given
