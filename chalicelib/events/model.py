"""Domain events: what happened, to what, by whom, when. One shape for every source (the
table's stream, S3 notifications, the API's own pulls and logins) and every consumer.

An event's `id` is derived from its source record (a stream record's eventID, an S3
object's key and sequencer, the id the API gave a pull), so a redelivered record is the
same event again and consumers can be idempotent on it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Mapping

EVENT_TYPES = frozenset({
    "registry.created", "registry.updated", "registry.deleted",
    "repository.created", "repository.updated", "repository.deleted",
    "manifest.pushed", "manifest.deleted",
    "tag.updated", "tag.deleted",
    "blob.uploaded", "blob.stored", "blob.deleted", "blob.linked", "blob.unlinked",
    "policy.changed", "principal.changed",
    "login.succeeded", "login.failed", "access.denied",
    "artifact.pulled",
    "scan.requested", "scan.completed", "vulndb.updated",
})
RESULTS = frozenset({"success", "denied", "failed"})
MAX_EVENT_BYTES = 200 * 1024  # SQS carries 256 KiB a message


class EventError(ValueError):
    """A message that is not a valid event (a poisoned message: it goes to the dead letters)."""


@dataclass(frozen=True)
class Actor:
    principal: str = "system"  # a token subject ("user:alice"), "anonymous" or "system:<what>"
    source_ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Target:
    registry: str | None = None
    repository: str | None = None  # the path inside the registry: "team/app"
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str | None:
        """`registry/repository`, as clients name it."""
        return f"{self.registry}/{self.repository}" if self.registry and self.repository else None


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    time: datetime
    actor: Actor = field(default_factory=Actor)
    target: Target = field(default_factory=Target)
    result: str = "success"
    details: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise EventError(f"unknown event type {str(self.type)[:64]!r}")
        if self.result not in RESULTS:
            raise EventError(f"unknown result {str(self.result)[:32]!r}")
        if not isinstance(self.id, str) or not 0 < len(self.id) <= 256:
            raise EventError("an event id is a string of 1-256 characters")
        if self.time.tzinfo is None:
            raise EventError("event times are timezone-aware (UTC)")
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def to_json(self) -> str:
        data = {"id": self.id, "type": self.type,
                "time": self.time.astimezone(timezone.utc).isoformat(timespec="microseconds"),
                "actor": asdict(self.actor), "target": asdict(self.target), "result": self.result,
                "details": dict(self.details)}
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Event":
        try:
            data = json.loads(text)
            return cls(id=data["id"], type=data["type"], time=datetime.fromisoformat(data["time"]),
                       actor=Actor(**data.get("actor") or {}), target=Target(**data.get("target") or {}),
                       result=data.get("result", "success"), details=data.get("details") or {})
        except EventError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise EventError(f"not an event: {type(error).__name__}: {str(error)[:200]}") from None
