"""The meter consumer: one domain event -> its usage counters, counted once, and the same
figures as CloudWatch EMF metrics.

Called as `record(event, services)` by chalicelib/events/consumers.py for METER_TYPES.
Exactly-once is the store's (a marker in the same transaction as the counters), so a
redelivered event changes nothing and emits no metric either.
"""
from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from chalicelib.store.usage import Applied, UsageDelta, UsageStore

if TYPE_CHECKING:  # metering sits below events (DESIGN.md): it takes their Event, imports nothing of them
    from chalicelib.events.model import Event

DEFAULT_NAMESPACE = "moorage"
# EMF metric name and unit of each counter.
_METRICS = {"pulls": ("Pulls", "Count"), "pushes": ("Pushes", "Count"), "scans": ("Scans", "Count"),
            "errors": ("Errors", "Count"), "bytes_uploaded": ("BytesUploaded", "Bytes"),
            "bytes_linked": ("BytesLinked", "Bytes")}


def delta_of(event: Event) -> UsageDelta | None:
    """What an event adds to its hour; None: nothing the meter counts."""
    size = int(event.details.get("bytes") or 0)
    deltas = {
        "manifest.pushed": UsageDelta(pushes=1),
        "artifact.pulled": UsageDelta(pulls=1),
        "scan.completed": UsageDelta(scans=1),
        "access.denied": UsageDelta(errors=1),
        "login.failed": UsageDelta(errors=1),
        "blob.uploaded": UsageDelta(bytes_uploaded=size),
        "blob.stored": UsageDelta(stored=size),
        "blob.deleted": UsageDelta(stored=-size),
        "blob.linked": UsageDelta(bytes_linked=size),
        "blob.unlinked": UsageDelta(bytes_linked=-size),
    }
    delta = deltas.get(event.type)
    return None if delta is None or delta == UsageDelta() else delta


def record(event: Event, services) -> None:
    if event.type == "artifact.pulled" and event.target.repository and event.target.digest:
        # "Last pull" of the repository and the image (for retention and the API); moves only
        # forward, so a redelivered pull changes nothing.
        services.metadata.record_pull(event.target.registry, event.target.repository, event.target.digest,
                                      event.time)
    registry, delta = event.target.registry, delta_of(event)
    if not registry or delta is None:  # a login failure with no registry named is nobody's usage
        return
    applied = store_for(services).apply(event.id, registry, event.target.repository, event.time, delta,
                                        services.clock.now())
    if applied.counted:
        emit_metrics(registry, delta, applied)


def emit_metrics(registry: str, delta: UsageDelta, applied: Applied) -> None:
    """One EMF document on stdout. The only dimension is the registry: repositories and
    tags are unbounded, and each dimension value is a metric CloudWatch bills for."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    # Ephemeral: its own metric set, not the process-wide one of Metrics (the local runtime
    # meters on several threads). service="": no default `service` dimension.
    metrics = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
                               service="")
    metrics.add_dimension(name="registry", value=registry)
    for name, value in delta.counters().items():
        metric, unit = _METRICS[name]
        metrics.add_metric(name=metric, unit=unit, value=value)
    if applied.bytes_stored is not None:
        metrics.add_metric(name="BytesStored", unit="Bytes", value=applied.bytes_stored)
    metrics.flush_metrics(raise_on_empty_metrics=False)


def store_for(services) -> UsageStore:
    return _store(services.settings.region, services.settings.aws_endpoint)


@functools.lru_cache(maxsize=8)
def _store(region: str, endpoint: str | None) -> UsageStore:
    # One DynamoDB connection per endpoint and process, made on first use (not per event).
    return UsageStore(region, endpoint)
