"""The request path's own events: a handler's Notice (a pull, a login, a refusal) becomes a
domain event with who, from where and when, published without waiting for SQS."""
from __future__ import annotations

import uuid

from chalicelib.registry.http.base import Notice, Request

from .model import Actor, Event, Target


def event_from_notice(notice: Notice, request: Request, now) -> Event:
    registry, _, repository = (notice.name or "").partition("/")
    # API Gateway's request id is unique per request: a retried publish is the same event.
    request_id = request.request_id or uuid.uuid4().hex
    return Event(id=f"api:{request_id}:{notice.type}", type=notice.type, time=now,
                 actor=Actor(notice.actor, request.source_ip, (request.header("user-agent") or "")[:256]),
                 target=Target(registry=registry or None, repository=repository or None, tag=notice.tag,
                               digest=notice.digest),
                 result=notice.result, details=notice.details)


def publish(notice: Notice | None, request: Request, services) -> None:
    if notice is not None:
        services.publisher.publish(event_from_notice(notice, request, services.clock.now()))
