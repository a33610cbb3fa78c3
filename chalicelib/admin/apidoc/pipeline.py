"""The document's event part: the audit log (admin/audit.py), the event queues
(admin/events.py), webhooks and their deliveries (admin/webhooks.py), and the document itself."""
from __future__ import annotations

from chalicelib.admin import audit, webhooks
from chalicelib.admin.events import REDRIVABLE
from chalicelib.events.model import EVENT_TYPES, RESULTS
from chalicelib.store.audit import MAX_LIMIT as AUDIT_MAX_LIMIT

from .parts import (BOOLEAN, MAYBE_TIME, TIME, answer, array, body, integer, nullable, obj, operation, path, query,
                    ref, string)
from .registry import REGISTRY

_EVENT_TYPE = string(enum=sorted(EVENT_TYPES))
_TEXT = string(maxLength=audit.MAX_TEXT)
_REGISTRY = path("registry", REGISTRY, "The registry.", "acme")
_WEBHOOK = path("id", string(pattern="^[0-9a-f]{16}$"), "The webhook's id.", "5f2b9c0d1e3a4b6c")

SCHEMAS = {
    "AuditRecord": obj({
        "id": string(), "type": _EVENT_TYPE, "time": TIME,
        "actor": obj({"principal": string(), "source_ip": string(), "user_agent": string()}),
        "target": obj({name: nullable(string()) for name in ("registry", "repository", "tag", "digest")}),
        "result": string(enum=sorted(RESULTS)),
        "details": {"type": "object", "description": "What the event type adds (sizes, reasons, …)."}}),
    "Webhook": obj({
        "id": string(), "registry": string(), "url": string(), "events": array(string()), "description": string(),
        "enabled": BOOLEAN, "created_at": MAYBE_TIME, "created_by": string()}),
}

OPERATIONS = {
    ("GET", "/audit"): operation(
        "audit", "Who did what, when, from where (newest first)", {200: answer(obj({
            "registry": nullable(string()), "from": TIME, "to": TIME, "records": array(ref("AuditRecord")),
            "next_cursor": nullable(string())}), "A page of records; next_cursor null on the last.")},
        errors=[400, 403], params=[
            query("registry", REGISTRY, "Only this registry (needs audit:Read on it); without, the deployment's "
                                        "whole log (audit:Read on mrn:iam:principals)."),
            query("repository", _TEXT, "Only this repository (its path inside the registry)."),
            query("actor", _TEXT, "Only this principal (e.g. user:alice)."),
            query("action", _EVENT_TYPE, "Only this event type."),
            query("from", string(format="date-time"), "Start (default: 24 hours before `to`); UTC without a zone."),
            query("to", string(format="date-time"), "End (default: now); at most 400 days after `from`."),
            query("limit", integer(1, AUDIT_MAX_LIMIT), f"Page size ({audit.DEFAULT_LIMIT} by default)."),
            query("cursor", string(), "The next_cursor of the page before.")],
        description="Any other query parameter is refused (400): a misspelt filter must not widen the answer."),

    ("GET", "/events/queues"): operation(
        "events", "The event queues' depths and dead letters", {200: answer(obj({"queues": array(obj({
            "consumer": string(), "waiting": integer(), "in_flight": integer(), "dead_letters": integer()}))}),
            "One entry per consumer queue.")}, errors=[403]),
    ("POST", "/events/queues/{consumer}/redrive"): operation(
        "events", "Send a consumer's dead letters back to its queue",
        {200: answer(obj({"consumer": string(), "redriven": integer()}), "How many messages moved.")},
        errors=[403, 404], params=[path("consumer", string(enum=sorted(REDRIVABLE)), "The consumer.", "audit")]),

    ("POST", "/registries/{registry}/webhooks"): operation(
        "webhooks", "Subscribe a URL to a registry's events",
        {201: answer(obj({**SCHEMAS["Webhook"]["properties"], "secret": string()}),
                     "The webhook with its signing secret, shown this once.")},
        errors=[403, 404, 409], params=[_REGISTRY],
        request=body(obj({
            "url": string(minLength=1, maxLength=webhooks.MAX_URL, pattern="^[Hh][Tt][Tt][Pp][Ss]?://",
                          description="http(s), public host, no credentials, no spaces."),
            "events": nullable(array(string(enum=["*", *sorted(EVENT_TYPES)]), minItems=1)),
            "description": string(maxLength=webhooks.MAX_DESCRIPTION), "enabled": BOOLEAN},
            required=["url"], additional=True), "The subscription (other fields are ignored).",
            {"url": "https://hooks.example.com/moorage", "events": ["manifest.pushed", "tag.deleted"]}),
        description=f"409 when the registry has {webhooks.MAX_SUBSCRIPTIONS} webhooks already."),
    ("GET", "/registries/{registry}/webhooks"): operation(
        "webhooks", "List a registry's webhooks",
        {200: answer(obj({"webhooks": array(ref("Webhook"))}), "The webhooks.")},
        errors=[403, 404], params=[_REGISTRY]),
    ("GET", "/registries/{registry}/webhooks/{id}"): operation(
        "webhooks", "Describe a webhook", {200: answer(ref("Webhook"), "The webhook.")},
        errors=[403, 404], params=[_REGISTRY, _WEBHOOK]),
    ("DELETE", "/registries/{registry}/webhooks/{id}"): operation(
        "webhooks", "Delete a webhook", {200: answer(obj({"deleted": string()}), "Deleted.")},
        errors=[403, 404], params=[_REGISTRY, {**_WEBHOOK, "example": "0a1b2c3d4e5f6a7b"}]),
    ("GET", "/registries/{registry}/webhooks/{id}/deliveries"): operation(
        "webhooks", "A webhook's latest deliveries", {200: answer(obj({"deliveries": array(obj({
            "event_id": string(), "event_type": string(), "event_time": MAYBE_TIME, "delivered": BOOLEAN,
            "status_code": nullable(integer()), "attempts": integer(), "last_error": nullable(string()),
            "attempted_at": MAYBE_TIME, "delivered_at": MAYBE_TIME}))}), "Newest first.")},
        errors=[400, 403, 404], params=[
            _REGISTRY, _WEBHOOK,
            query("limit", integer(1, webhooks.MAX_LIMIT), f"How many ({webhooks.DEFAULT_LIMIT} by default).")]),

    ("GET", "/openapi.json"): operation(
        "meta", "This document", {200: answer({"type": "object"}, "The OpenAPI 3.1 document.")}, anonymous=True,
        errors=[401], description="Needs no credentials (invalid ones sent are still refused)."),
}
