"""The scan consumer: scan on push (as the registry's policy says), scan on request, and
rescan what was pulled lately when the vulnerability DB changes.

Called as `handle(event, services)` by chalicelib/events/consumers.py; idempotent on the
event id there, and a scan writes the same report for the same image and DB again anyway.
A scan that fails on the image's content is a result (status "failed", with the reason),
not an error: only storage or DB trouble raises, and is retried.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from chalicelib.oci import MANIFEST_TYPES, RepoName
from chalicelib.store import keys

from .model import Actor, Event, Target

RESCAN_DAYS = 7  # images pulled within this many days are rescanned when the DB changes


def handle(event: Event, services) -> None:
    target = event.target
    if event.type == "vulndb.updated":
        _fan_out_rescans(event, services)
        return
    if not (target.registry and target.repository and target.digest):
        return
    name = RepoName(target.registry, target.repository)
    if event.type == "manifest.pushed":
        if event.details.get("media_type") not in MANIFEST_TYPES or event.details.get("subject"):
            return  # referrers (signatures, SBOMs, our own reports) are not images to scan
        if not services.registries.content_policy(target.registry, target.repository).scan_on_push:
            return
        services.scans.scan(name, target.digest)
    elif event.type == "scan.requested":
        services.scans.scan(name, target.digest, rescan=bool(event.details.get("rescan")))


def rescan_request(registry: str, repository: str, digest: str, when) -> Event:
    return Event(id=f"scan:{uuid.uuid4()}", type="scan.requested", time=when, actor=Actor("system:scanner"),
                 target=Target(registry, repository, digest=digest), details={"rescan": True})


def _fan_out_rescans(event: Event, services) -> None:
    """One scan.requested per image pulled in the last RESCAN_DAYS (each a message of its
    own: a failure retries that image, not all of them)."""
    now = services.clock.now()
    days = [keys.audit_day(now - timedelta(days=n)) for n in range(RESCAN_DAYS)]  # as record_pull writes them
    requests = [rescan_request(registry, repository, digest, now)
                for registry, repository, digest in services.metadata.recently_pulled(days)]
    services.events.send(requests)
