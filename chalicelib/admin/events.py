"""/api/v1/events: the event pipeline's queues (depths, dead letters) and redrive."""
from __future__ import annotations

from dataclasses import asdict

from chalicelib.auth.policy import EVENTS_RESOURCE
from chalicelib.events import queues
from chalicelib.events.consumers import CONSUMERS

from .http import ApiError, Call, json_response, route

MANAGE_EVENTS = ("events:Manage", EVENTS_RESOURCE)
REDRIVABLE = {c.name for c in CONSUMERS} | {"storage"}


@route("GET", "/events/queues", needs=MANAGE_EVENTS)
def queue_status(call: Call):
    found = queues.status(call.services.aws.client("sqs"), call.services.settings.queue_prefix)
    return json_response(200, {"queues": [asdict(q) for q in found]})


@route("POST", "/events/queues/{consumer}/redrive", needs=MANAGE_EVENTS)
def redrive(call: Call):
    consumer = call.params["consumer"]
    if consumer not in REDRIVABLE:
        raise ApiError(404, "NOT_FOUND", f"no consumer queue '{consumer[:64]}' (one of {', '.join(sorted(REDRIVABLE))})")
    moved = queues.redrive(call.services.aws.client("sqs"), call.services.settings.queue_prefix, consumer)
    return json_response(200, {"consumer": consumer, "redriven": moved})
